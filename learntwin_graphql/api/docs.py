"""Descriptions for the parts of the schema Strawberry builds from plain Python enums,
whose values cannot carry one where they are declared (in ml/ or auth)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import strawberry


def describe_values(enum_type: Any, **descriptions: str) -> Any:
    """Gives each value of a `strawberry.enum` its description, by GraphQL name; every
    value must be named, so a value added later cannot go undocumented."""
    definition = enum_type.__strawberry_definition__
    names = {value.name for value in definition.values}
    if names != set(descriptions):
        raise ValueError(
            f"{definition.name}: describe exactly {sorted(names)}, not {sorted(descriptions)}"
        )
    for value in definition.values:
        value.description = descriptions[value.name]
    return enum_type


# Arguments many fields share, described once.
First = Annotated[
    int,
    strawberry.argument(
        description="Page size: at most this many items, 0 up to the server's maximum page "
        "size (LEARNTWIN_MAX_PAGE_SIZE, 500 unless configured)."
    ),
]
After = Annotated[
    str | None,
    strawberry.argument(
        description="Return the items after this cursor (an edge's `cursor`, usually "
        "`pageInfo.endCursor` of the previous page); null: from the start of the list."
    ),
]
From = Annotated[
    datetime | None,
    strawberry.argument(
        name="from",
        description="Start of the time range, inclusive (records taken at or after it); "
        "null: no lower bound.",
    ),
]
To = Annotated[
    datetime | None,
    strawberry.argument(
        description="End of the time range, exclusive (records taken before it); null: no "
        "upper bound."
    ),
]
