"""Stream ids as cursors, and the reader's connection pool."""

from __future__ import annotations

import pytest

from photolib.feed import MAX_READERS, InvalidStreamId, parse_id, reader_client


def test_stream_ids_order_as_redis_orders_them() -> None:
    assert parse_id("1700000000000-2") < parse_id("1700000000000-10") < parse_id("1700000000001")
    assert parse_id("0") == parse_id("0-0") == (0, 0)


@pytest.mark.parametrize("bad", ["", "abc", "1-2-3", "$", "-1", "1700000000000-", "9" * 21])
def test_anything_else_is_refused(bad: str) -> None:
    with pytest.raises(InvalidStreamId):
        parse_id(bad)


def test_each_open_stream_can_have_its_own_connection() -> None:
    # One blocking XREAD per SSE stream: redis-py's default pool of 100 would fail the 101st stream.
    assert reader_client("redis://127.0.0.1:1/0", 25.0).connection_pool.max_connections == MAX_READERS
