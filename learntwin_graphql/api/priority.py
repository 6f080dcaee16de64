"""The Priority enum, shared by teaching recommendations, learner recommendations and
struggling topics."""

from __future__ import annotations

import strawberry

from learntwin_graphql.api.docs import describe_values
from ml.recommendations import Priority

PriorityEnum = describe_values(
    strawberry.enum(Priority, name="Priority", description="How urgent it is."),
    HIGH="Act on it first.",
    MEDIUM="Worth doing soon.",
    LOW="When there is time.",
)
