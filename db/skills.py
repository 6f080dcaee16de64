"""Skills, their prerequisite graph and their knowledge-tracing parameters."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from db.engine import Target, asyncpg_connection, fetch, grouped, xact_lock

Row = dict[str, Any]
SKILL_COLUMNS = "id, name, description, prior, learn, guess, slip, forget, created_at, updated_at"


async def graph(conn: AsyncConnection) -> dict[str, set[str]]:
    """Every skill with its prerequisites (the whole DAG: upserts check it for cycles)."""
    raw = await asyncpg_connection(conn)
    found: dict[str, set[str]] = {row[0]: set() for row in await raw.fetch("SELECT id FROM skills")}
    for skill_id, prerequisite in await raw.fetch(
        "SELECT skill_id, prerequisite_id FROM skill_prerequisites"
    ):
        found[skill_id].add(prerequisite)
    return found


async def lock_graph(conn: AsyncConnection) -> None:
    """One writer of the skill graph at a time: two upserts that each close half of a
    cycle cannot both pass their check."""
    await xact_lock(conn, "graph:skill")


async def upsert(conn: AsyncConnection, skills: Sequence[Mapping[str, Any]]) -> None:
    """Create or update each skill (id, name, description, prerequisite_ids), replacing
    its prerequisites."""
    raw = await asyncpg_connection(conn)
    ids = [s["id"] for s in skills]
    await raw.execute(
        """
        INSERT INTO skills (id, name, description)
        SELECT * FROM unnest($1::text[], $2::text[], $3::text[])
        ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name,
            description = EXCLUDED.description, updated_at = now()
        """,
        ids,
        [s["name"] for s in skills],
        [s.get("description") for s in skills],
    )
    await raw.execute("DELETE FROM skill_prerequisites WHERE skill_id = ANY($1::text[])", ids)
    edges = [(s["id"], p) for s in skills for p in dict.fromkeys(s["prerequisite_ids"])]
    if edges:
        await raw.execute(
            "INSERT INTO skill_prerequisites (skill_id, prerequisite_id)"
            " SELECT * FROM unnest($1::text[], $2::text[])",
            [e[0] for e in edges],
            [e[1] for e in edges],
        )


async def ensure(conn: AsyncConnection, names: Mapping[str, str]) -> dict[str, Row]:
    """The skills with these ids, created (named as given) where new, by id."""
    raw = await asyncpg_connection(conn)
    ids = list(names)
    query = f"SELECT {SKILL_COLUMNS} FROM skills WHERE id = ANY($1::text[])"
    found = {row["id"]: dict(row) for row in await raw.fetch(query, ids)}
    missing = [i for i in ids if i not in found]
    if missing:  # evidence naming a skill for the first time
        await raw.execute(
            "INSERT INTO skills (id, name) SELECT * FROM unnest($1::text[], $2::text[])"
            " ON CONFLICT (id) DO NOTHING",
            missing,
            [names[i][:200] for i in missing],
        )
        found |= {row["id"]: dict(row) for row in await raw.fetch(query, missing)}
    return found


async def set_tracing(
    conn: AsyncConnection, skill_id: str, params: Mapping[str, float]
) -> Row | None:
    raw = await asyncpg_connection(conn)
    row = await raw.fetchrow(
        f"""
        UPDATE skills SET prior = $2, learn = $3, guess = $4, slip = $5, forget = $6,
            updated_at = now()
        WHERE id = $1 RETURNING {SKILL_COLUMNS}
        """,
        skill_id,
        *(params[k] for k in ("prior", "learn", "guess", "slip", "forget")),
    )
    return dict(row) if row is not None else None


# --- reads (batched) -------------------------------------------------------------------


async def by_id(engine: Target, ids: Sequence[str]) -> dict[str, Row]:
    rows = await fetch(
        engine, f"SELECT {SKILL_COLUMNS} FROM skills WHERE id = ANY($1::text[])", list(ids)
    )
    return {row["id"]: dict(row) for row in rows}


async def prerequisites_of(engine: AsyncEngine, ids: Sequence[str]) -> dict[str, list[str]]:
    rows = await fetch(
        engine,
        "SELECT skill_id, prerequisite_id FROM skill_prerequisites"
        " WHERE skill_id = ANY($1::text[]) ORDER BY 1, 2",
        list(ids),
    )
    return grouped(rows, "skill_id", "prerequisite_id")


async def dependents_of(engine: AsyncEngine, ids: Sequence[str]) -> dict[str, list[str]]:
    rows = await fetch(
        engine,
        "SELECT prerequisite_id, skill_id FROM skill_prerequisites"
        " WHERE prerequisite_id = ANY($1::text[]) ORDER BY 1, 2",
        list(ids),
    )
    return grouped(rows, "prerequisite_id", "skill_id")


async def page(engine: AsyncEngine, search: str | None, after: str | None, limit: int) -> list[Row]:
    """Skills in id order after `after`, whose id or name contains `search` (any case)."""
    rows = await fetch(
        engine,
        f"""
        SELECT {SKILL_COLUMNS} FROM skills
        WHERE ($1::text IS NULL OR id > $1::text)
          AND ($2::text IS NULL OR strpos(lower(id || ' ' || name), lower($2::text)) > 0)
        ORDER BY id LIMIT $3
        """,
        after,
        search,
        limit,
    )
    return [dict(row) for row in rows]
