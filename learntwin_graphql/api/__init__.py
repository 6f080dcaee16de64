"""The GraphQL API: Strawberry types and resolvers, one module per domain."""
