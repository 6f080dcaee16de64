"""The fuzz test's values: hostile scalars (by type, and by the argument they go into),
values the server accepts, and drawing either for any input type; the same hostile
values as GraphQL literals for hypothesis-graphql. Ids and cursors are drawn from what
the test's seed created, so that some hostile values reach real rows."""

from __future__ import annotations

import base64
import json
from datetime import date, datetime
from typing import Any

import graphql
from hypothesis import strategies as st
from hypothesis_graphql import nodes

# --- data the seed creates, which ids and cursors can hit --------------------------------

CLASS_IDS = ("c-fuzz-1", "c-fuzz-2")
STUDENT_IDS = ("s-fuzz-1", "s-fuzz-2", "s-fuzz-3")
LEARNER_STUDENT = STUDENT_IDS[0]
LEARNER_EMAIL = "learner@fuzz.example"
PASSWORD = "correct horse battery"
# Filled by the seed (task, quiz, question and attempt ids; cursors the server issued).
# Strategies index into them as they draw, so they start with the fixed ids and every draw
# has something to pick.
KNOWN_IDS: list[str] = [*CLASS_IDS, *STUDENT_IDS]
KNOWN_TASKS: list[str] = []
KNOWN_QUIZZES: list[str] = []
KNOWN_QUESTIONS: list[str] = []
KNOWN_CURSORS: list[str] = []


def _known(pool: list[str], fallback: str) -> st.SearchStrategy[str]:
    return st.integers(min_value=0, max_value=63).map(
        lambda i: pool[i % len(pool)] if pool else fallback
    )


# --- hostile scalar values (Python values: sent as JSON variables) -----------------------

ODD_TEXT = [
    "",
    " ",
    " \t ",
    "\n",
    "\r\n",
    "\r",
    "\x00",
    "a\x00b",
    "\x00" * 8,
    "\x07\x1b[31m",
    "😀",
    "👩\u200d👩\u200d👧\u200d👦",
    "\u202eevil\u202c",
    "مرحبا بالعالم",
    "שלום",
    "e\u0301\u0302\u0303\u0304",
    "Z\u0364\u0351\u0313\u0324\u0354",
    "\ufeff",
    "\ufffd",
    "\uffff",
    "\U0010ffff",
    "\u2028\u2029",
    "\u00a0",
    "null",
    "undefined",
    "true",
    "0",
    "-1",
    "NaN",
    "Infinity",
    "' OR '1'='1' --",
    "%s%n%x%d",
    "%(table_name)s",
    "{{7*7}}",
    "../../etc/passwd",
    "\\",
    '"',
    "<script>alert(1)</script>",
    "%00",
]
LONG_TEXT = st.sampled_from(["x", "é", "😀", "\x00", " ", "a\u0301", "\r\n"]).flatmap(
    lambda unit: st.integers(min_value=200, max_value=4096).map(lambda n: unit * n)
)
ANY_TEXT = st.text(alphabet=st.characters(codec="utf-8"), max_size=40)
KNOWN_ID = _known(KNOWN_IDS, CLASS_IDS[0])
# Known ids made odd: the server must not match them, or must match them consistently.
DISGUISED_ID = st.tuples(KNOWN_ID, st.sampled_from(["\x00", " ", "\n", "\u0301", "😀"])).map(
    lambda pair: pair[0] + pair[1]
) | KNOWN_ID.map(lambda s: f"  {s}\t")
STRINGS = st.one_of(st.sampled_from(ODD_TEXT), LONG_TEXT, ANY_TEXT, KNOWN_ID, DISGUISED_ID)
IDS = st.one_of(
    KNOWN_ID,
    KNOWN_ID,
    DISGUISED_ID,
    st.sampled_from(ODD_TEXT),
    LONG_TEXT,
    ANY_TEXT,
    # ID also accepts integers; some beyond 64 bits.
    st.sampled_from([0, -1, 2**31 - 1, 2**63, 2**64 + 1]),
)

ODD_DATETIMES = [
    "",
    " ",
    "now",
    "garbage",
    "\x00",
    "2026-13-01T00:00:00Z",
    "2026-02-30T00:00:00Z",
    "2026-01-01T25:00:00Z",
    "2026-01-01T00:00:00+99:00",
    "0001-01-01T00:00:00+14:00",
    "0001-01-01T00:00:00Z",
    "0001-01-01",
    "9999-12-31T23:59:59-14:00",
    "9999-12-31T23:59:59.999999Z",
    "9999-12-31",
    "2026-01-05T00:00:00Z",
    "2026-01-05",
    "2026-01-05T00:00:00",
    " 2026-01-05T00:00:00Z ",
    "2026-W02-1",
    "20260105T000000Z",
    "2026-01-05T00:00:00Z\x00",
    "-2026-01-01",
    "1" * 4000,
]


def _format_datetime(pair: tuple[datetime, int | None]) -> str:
    moment, offset_minutes = pair
    text = moment.isoformat()
    if offset_minutes is None:
        return text + "Z"
    sign = "+" if offset_minutes >= 0 else "-"
    hours, minutes = divmod(abs(offset_minutes), 60)
    return f"{text}{sign}{hours:02d}:{minutes:02d}"


DATETIMES = st.one_of(
    st.sampled_from(ODD_DATETIMES),
    # Any instant with any offset up to +-14:00 (or none): the edges of the calendar
    # overflow once converted to UTC.
    st.tuples(
        st.datetimes(),
        st.none() | st.integers(min_value=-14 * 60, max_value=14 * 60),
    ).map(_format_datetime),
    ANY_TEXT,
)

INTS = st.one_of(
    st.sampled_from([0, -1, 1, 2, 5, 20, 100, 499, 500, 501, 2**31 - 1, -(2**31)]),
    st.integers(min_value=-(2**31), max_value=2**31 - 1),
)
FLOATS = st.one_of(
    st.sampled_from(
        [0.0, -0.0, -1.0, 1.0, 5.5, 10.0, 10.000001, 0.999999, 100.0, 100.00001, 300.0, 300.1]
    ),
    st.sampled_from([1e308, -1e308, 5e-324, -5e-324, 2.2250738585072014e-308]),
    st.floats(allow_nan=False, allow_infinity=False),
    # JSON integers where a Float is expected, some beyond what a double holds exactly.
    st.sampled_from([0, 7, 2**53 + 1, 2**63, -(2**63)]),
)
BOOLEANS = st.booleans()


def _b64(raw: bytes, *, padded: bool = False, urlsafe: bool = True) -> str:
    encoded = (base64.urlsafe_b64encode if urlsafe else base64.b64encode)(raw).decode()
    return encoded if padded else encoded.rstrip("=")


ODD_CURSOR_KEYS: list[Any] = [
    [None],
    ["x", "y"],
    [1e308],
    [-1e308],
    {},
    [],
    [[]],
    [{}],
    [True],
    ["\x00"],
    ["x" * 2000],
    [2**63 - 1],
    [-(2**63)],
    [18446744073709551615],
    ["s-fuzz-1\x00"],
    ["2026-01-05T00:00:00Z"],
    ["2026-01-05T00:00:00Z", "x"],
    ["2026-01-05T00:00:00Z", None],
    ["2026-01-05T00:00:00Z", 1e308],
    ["2026-01-05T00:00:00Z", 1.5],
    ["2026-01-05T00:00:00Z", 2**63],
    ["2026-01-05T00:00:00Z", -1],
    ["2026-01-05T00:00:00Z", True],
    ["2026-01-05T00:00:00Z", [1]],
    ["0001-01-01T00:00:00+14:00", 1],
    ["9999-12-31T23:59:59-14:00", 1],
    ["now", 1],
    ["", ""],
    [None, None],
    [1, 2],
    [["nested"], {"a": 1}],
    "x",
    1,
    None,
]
# Cursors the server issued (a fixed one until the seed has run).
ISSUED_CURSOR = _known(KNOWN_CURSORS, _b64(b'["c-fuzz-1"]'))
# Forged cursors of odd JSON most often: they get past base64 and JSON decoding, so they
# are the ones that reach the keyset query.
FORGED_CURSORS = st.tuples(st.sampled_from(ODD_CURSOR_KEYS), st.booleans(), st.booleans()).map(
    lambda t: _b64(json.dumps(t[0]).encode(), padded=t[1], urlsafe=t[2])
)
CURSORS = st.one_of(
    ISSUED_CURSOR,
    FORGED_CURSORS,
    FORGED_CURSORS,
    st.binary(max_size=48).map(_b64),
    st.sampled_from(["", "=", "====", "!!!", "a", "ab=c", "\x00", "W10", "e30", "bnVsbA"]),
    STRINGS,
)
EMAILS = st.one_of(
    st.sampled_from(
        [
            LEARNER_EMAIL,
            LEARNER_EMAIL.upper(),
            f"  {LEARNER_EMAIL}  ",
            f"{LEARNER_EMAIL}\x00",
            "a@b.co",
            "new@fuzz.example",
            "😀@😀.😀",
            "é@é.é",
            "x" * 250 + "@b.co",
            "a@" + "b" * 4000 + ".co",
            "a@b.co\r\nBcc: c@d.ef",
        ]
    ),
    st.tuples(ANY_TEXT, ANY_TEXT).map(lambda t: f"{t[0]}@{t[1]}.io"),
    STRINGS,
)
PASSWORDS = st.one_of(
    st.sampled_from([PASSWORD, "0123456789", "\x00" * 10, "😀" * 10, "x" * 1024, "x" * 1025]),
    STRINGS,
)
# A value of the wrong shape: the coercion of every scalar must refuse it cleanly.
WRONG_SHAPE: st.SearchStrategy[Any] = st.sampled_from(
    [{}, [], {"a": [1, {"b": None}]}, [[[]]], [{"x": "y"}], True, 1, 1.5, "x", -(2**63)]
)


# Calendar dates: malformed, impossible, at the calendar's edges, or a date-time.
DATES = (
    st.sampled_from(
        ["", "x", "2026-13-01", "2026-02-30", "0000-01-01", "9999-12-31", "2026-01-10T00:00:00Z"]
    )
    | st.dates().map(lambda d: d.isoformat())
    | st.integers()
    | st.none()
)


def hostile_scalars(type_name: str, name: str) -> st.SearchStrategy[Any]:
    """Hostile values for a scalar, given the argument or input field it goes into."""
    if type_name == "String":
        if name == "after":
            return CURSORS
        if name == "email":
            return EMAILS
        if name == "password":
            return PASSWORDS
        return STRINGS
    by_type: dict[str, st.SearchStrategy[Any]] = {
        "ID": IDS,
        "Int": INTS,
        "Float": FLOATS,
        "Boolean": BOOLEANS,
        "DateTime": DATETIMES,
        "Date": DATES,
    }
    return by_type[type_name]


SEEDED_DAYS = st.datetimes(min_value=datetime(2026, 1, 4), max_value=datetime(2026, 1, 20)).map(
    lambda moment: moment.isoformat() + "Z"
)
# The learner's own student most of the time (a learner may act on it), else any seeded one.
SEEDED_STUDENT = st.just(LEARNER_STUDENT) | st.sampled_from(STUDENT_IDS)
# Values the server accepts, by argument or input field name, so that the hostile value
# next to them is the one that decides what happens.
BENIGN_BY_NAME: dict[str, st.SearchStrategy[Any]] = {
    "after": ISSUED_CURSOR,
    "email": st.sampled_from([LEARNER_EMAIL, "new@fuzz.example"]),
    "password": st.just(PASSWORD),
    "first": st.integers(min_value=0, max_value=20),
    "questionCount": st.integers(min_value=1, max_value=5),
    "confidence": st.floats(min_value=1, max_value=10),
    "engagementTime": st.floats(min_value=0, max_value=300),
    "topic": st.sampled_from(["fractions", "photosynthesis"]),
    "values": st.sampled_from(["a", "True", "b"]),
    "eventId": st.integers(min_value=0, max_value=40).map(lambda n: f"e-fuzz-{n}"),
    "studentId": SEEDED_STUDENT,
    "classId": st.sampled_from(CLASS_IDS),
    "quizId": _known(KNOWN_QUIZZES, "q"),
    "questionId": _known(KNOWN_QUESTIONS, "q"),
    # `id` by the field it selects: a row of the right kind, for the resolvers to go on.
    "class.id": st.sampled_from(CLASS_IDS),
    "student.id": SEEDED_STUDENT,
    "task.id": _known(KNOWN_TASKS, "t"),
    "quiz.id": _known(KNOWN_QUIZZES, "q"),
}
BENIGN_BY_TYPE: dict[str, st.SearchStrategy[Any]] = {
    "ID": st.just(LEARNER_STUDENT) | KNOWN_ID,
    "String": st.text(alphabet="abcdefghij-", min_size=1, max_size=12),
    "Int": st.integers(min_value=0, max_value=100),
    "Float": st.floats(min_value=0, max_value=100),
    "Boolean": BOOLEANS,
    "DateTime": SEEDED_DAYS,
    "Date": st.dates(min_value=date(2026, 1, 1), max_value=date(2030, 12, 31)).map(
        lambda d: d.isoformat()
    ),
}


def draw_value(
    draw: st.DrawFn, type_: graphql.GraphQLInputType, name: str, hostile: int, owner: str = ""
) -> Any:
    """A JSON value for a variable or input field of this type. Each scalar position is
    hostile with a chance of `hostile` in 10, else a value the server accepts; a few
    positions get null or a value of the wrong shape. Mostly well-shaped, so that the
    hostile scalars get past coercion and into the resolvers."""
    if hostile and draw(st.integers(min_value=0, max_value=15)) == 0:
        return draw(WRONG_SHAPE | st.none())
    inner = graphql.get_nullable_type(type_)
    if isinstance(inner, graphql.GraphQLList):
        # A single value where a list is expected is legal GraphQL (a list of one).
        if hostile and draw(st.integers(min_value=0, max_value=9)) == 0:
            return draw_value(draw, inner.of_type, name, hostile)
        size = draw(st.integers(min_value=0, max_value=3))
        return [draw_value(draw, inner.of_type, name, hostile) for _ in range(size)]
    if isinstance(inner, graphql.GraphQLInputObjectType):
        return {
            key: draw_value(draw, f.type, key, hostile)
            for key, f in inner.fields.items()
            if graphql.is_required_input_field(f) or draw(st.booleans())
        }
    if isinstance(inner, graphql.GraphQLEnumType):
        if hostile and draw(st.integers(min_value=0, max_value=9)) == 0:
            return draw(st.sampled_from(["", "admin", "Admin", "ADMIN\x00", "UNKNOWN"]))
        return draw(st.sampled_from(list(inner.values)))
    assert isinstance(inner, graphql.GraphQLScalarType)
    if draw(st.integers(min_value=0, max_value=9)) < hostile:
        return draw(hostile_scalars(inner.name, name))
    for key in (f"{owner}.{name}", name):
        if key in BENIGN_BY_NAME:
            return draw(BENIGN_BY_NAME[key])
    return draw(BENIGN_BY_TYPE[inner.name])


# --- the same values as GraphQL literals, for hypothesis-graphql -------------------------


# Float literals a JSON variable cannot carry: graphql-core parses these to +-inf.
HUGE_FLOAT_LITERALS = st.sampled_from(
    [graphql.FloatValueNode(value="1e400"), graphql.FloatValueNode(value="-1e400")]
) | st.just(graphql.IntValueNode(value="1" + "0" * 400))
OBJECT_LITERALS = st.sampled_from(
    [
        nodes.Object([]),
        nodes.List([]),
        nodes.List([nodes.Null, nodes.Int(1)]),
        nodes.Object(
            [
                graphql.ObjectFieldNode(
                    name=graphql.NameNode(value="a"), value=nodes.List([nodes.String("x")])
                )
            ]
        ),
        nodes.Boolean(True),
        nodes.Enum("NOW"),
    ]
)
INLINE_SCALARS: dict[str, st.SearchStrategy[graphql.ValueNode]] = {
    # Strings double as cursors inline: hypothesis-graphql picks by type, not by name.
    "String": (STRINGS | CURSORS | EMAILS).map(nodes.String),
    "ID": IDS.map(str).map(nodes.String) | st.integers(min_value=0, max_value=2**70).map(nodes.Int),
    "Int": INTS.map(nodes.Int) | st.sampled_from([2**31, -(2**31) - 1, 2**64]).map(nodes.Int),
    "Float": FLOATS.map(lambda v: nodes.Float(float(v))) | HUGE_FLOAT_LITERALS,
    # DateTime is a custom scalar: its literal parsing sees every kind of node.
    "DateTime": DATETIMES.map(nodes.String)
    | st.sampled_from([0, -1, 2**40]).map(nodes.Int)
    | FLOATS.map(lambda v: nodes.Float(float(v)))
    | OBJECT_LITERALS,
    "Date": DATES.filter(lambda v: isinstance(v, str)).map(nodes.String),
}
