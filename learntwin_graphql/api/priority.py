"""The Priority enum, shared by teaching recommendations, learner recommendations and
struggling topics."""

from __future__ import annotations

import strawberry

from ml.recommendations import Priority

PriorityEnum = strawberry.enum(Priority, name="Priority", description="How urgent it is.")
