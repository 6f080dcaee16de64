"""Business operations, one module per domain: each owns its transactions, checks
permission through `permissions`, calls queries in `db` and pure functions in `ml`, and
hands back plain rows and values. GraphQL resolvers and REST routes call the same ones."""
