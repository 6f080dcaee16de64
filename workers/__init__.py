"""Background work: arq worker settings, job functions, task status and events."""
