"""Persistence: tables, engine, migrations, queries and the embedded servers."""
