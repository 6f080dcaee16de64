"""The intelligence, free of I/O: recommendation rules, the score model, the LLM client."""
