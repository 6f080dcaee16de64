"""The REST routes beside GraphQL: health checks, the CSV export, the LearnTwin-compatible API."""
