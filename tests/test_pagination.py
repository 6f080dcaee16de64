"""Keyset cursors and connections, without a database."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from learntwin_graphql.errors import BadUserInput
from learntwin_graphql.pagination import build_connection, check_first, decode_cursor, encode_cursor


def test_a_cursor_round_trips_each_kind():
    ts = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
    cursor = encode_cursor(["2026-11-30T12:00:00Z", 42])
    assert decode_cursor(cursor, datetime, int) == (ts, 42)
    assert decode_cursor(encode_cursor(["数学-1"]), str) == ("数学-1",)
    assert decode_cursor(None, str) is None


@pytest.mark.parametrize(
    ("key", "kinds"),
    [
        (["x"], (str, int)),  # too short for the list
        (["x", 1], (str,)),  # too long
        ([1], (str,)),
        (["1"], (int,)),
        ([True], (int,)),
        ([-1], (int,)),
        ([2**63], (int,)),
        (["not a time"], (datetime,)),
        (["a\x00b"], (str,)),
        (["x" * 1001], (str,)),
    ],
)
def test_cursors_of_the_wrong_shape_are_refused(key, kinds):
    with pytest.raises(BadUserInput) as refused:
        decode_cursor(encode_cursor(key), *kinds)
    assert refused.value.extensions == {"code": "BAD_USER_INPUT", "field": "after"}


@pytest.mark.parametrize("cursor", ["", "%%%", "数学", "bm90IGpzb24"])
def test_cursors_that_are_not_ours_are_refused(cursor):
    with pytest.raises(BadUserInput):
        decode_cursor(cursor, str)


def test_a_connection_holds_one_page_and_says_whether_more_follow():
    rows = [{"id": n} for n in range(4)]
    page = build_connection(rows, 3, key=lambda r: (r["id"],), node=lambda r: r["id"])
    assert [edge.node for edge in page.edges] == [0, 1, 2]
    assert page.page_info.has_next_page
    assert decode_cursor(page.page_info.end_cursor, int) == (2,)
    last = build_connection(rows[:2], 3, key=lambda r: (r["id"],), node=lambda r: r["id"])
    assert not last.page_info.has_next_page
    empty = build_connection([], 3, key=lambda r: (r,), node=lambda r: r)
    assert empty.edges == [] and empty.page_info.end_cursor is None


def test_first_is_bounded():
    assert check_first(0, 500) == 0 and check_first(500, 500) == 500
    for bad in (-1, 501):
        with pytest.raises(BadUserInput):
            check_first(bad, 500)
