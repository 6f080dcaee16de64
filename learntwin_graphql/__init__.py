"""LearnTwin GraphQL: one GraphQL API for learning analytics."""

__version__ = "0.1.0"
