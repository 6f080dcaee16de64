"""A small realistic data set so a fresh `learntwin serve --demo` answers at once."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncEngine

from db.classes import has_classes
from db.ingest import ingest
from ml.metrics import MetricRecord

# Each class has its own character, so mastery and recommendations differ between them.
CLASSES = {
    "algebra-1": {"stuck": 0.38, "got_it": 0.45, "pause": 0.20, "example": 0.15, "confidence": 5.2},
    "biology-2": {"stuck": 0.15, "got_it": 0.62, "pause": 0.35, "example": 0.40, "confidence": 6.8},
    "python-intro": {
        "stuck": 0.08,
        "got_it": 0.82,
        "pause": 0.10,
        "example": 0.30,
        "confidence": 8.1,
    },
}
STUDENTS_PER_CLASS = 25
DAYS = 14


def demo_records(now: datetime, seed: int = 7) -> list[MetricRecord]:
    rng = random.Random(seed)
    start = (now - timedelta(days=DAYS)).replace(minute=0, second=0, microsecond=0)
    records: list[MetricRecord] = []
    for class_index, (class_id, profile) in enumerate(CLASSES.items()):
        students = [f"{class_id}-s{n:02d}" for n in range(1, STUDENTS_PER_CLASS + 1)]
        # A few students take two classes, as they do.
        if class_index:
            students[:3] = [f"{next(iter(CLASSES))}-s{n:02d}" for n in range(1, 4)]
        for day in range(DAYS):
            lesson = start + timedelta(days=day, hours=9 + 2 * class_index)
            if lesson.weekday() >= 5:
                continue
            for student in students:
                skill = rng.gauss(0, 0.08)  # some students are steadier than others
                for _ in range(rng.randint(3, 8)):
                    ts = lesson + timedelta(minutes=rng.uniform(0, 50))
                    if ts >= now:
                        continue
                    confidence = min(
                        10.0, max(1.0, rng.gauss(profile["confidence"] + 10 * skill, 1.4))
                    )
                    records.append(
                        MetricRecord(
                            class_id=class_id,
                            student_id=student,
                            stuck=rng.random() < profile["stuck"] - skill,
                            got_it=rng.random() < profile["got_it"] + skill,
                            pause=rng.random() < profile["pause"],
                            example=rng.random() < profile["example"],
                            confidence=round(confidence, 1),
                            ts=ts,
                        )
                    )
    return records


async def load_demo(engine: AsyncEngine) -> int:
    """Load the demo set into an empty database; returns how many records were stored."""
    if await has_classes(engine):
        return 0
    records = demo_records(datetime.now(UTC))
    stored = 0
    for start in range(0, len(records), 5_000):
        stored += (await ingest(engine, records[start : start + 5_000])).accepted
    return stored
