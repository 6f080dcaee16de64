"""What a worker needs to know, handed over by whoever builds it (CLI or API process)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

MAX_TRIES = 3


@dataclass(frozen=True)
class WorkerConfig:
    job_timeout: float = 180.0  # seconds, per try
    max_tries: int = MAX_TRIES
    llm_api_key: str | None = None
    llm_base_url: str | None = None
    llm_model: str = "gpt-4o-mini"
    llm_timeout: float = 30.0

    def backoff(self, job_try: int) -> float:
        """Seconds before try `job_try + 1`: 2, 4, 8, …"""
        return float(2**job_try)

    @property
    def deadline(self) -> timedelta:
        """How long a task may stay unfinished: every try may run to its timeout, and a try
        lost with its worker is only retried once arq's in-progress mark (timeout + 10 s)
        has expired; a minute on top for the queue."""
        tries = self.max_tries * (self.job_timeout + 10)
        pauses = sum(self.backoff(t) for t in range(1, self.max_tries))
        return timedelta(seconds=tries + pauses + 60)
