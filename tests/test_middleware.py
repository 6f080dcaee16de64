"""Admission in arrival order, in front of any ASGI app."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from learntwin_graphql.middleware import Admission


class Gate:
    """An app whose requests wait until released, recording how many run at once."""

    def __init__(self) -> None:
        self.running = 0
        self.most = 0
        self.order: list[str] = []
        self.release = asyncio.Event()

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        self.order.append(scope["path"])
        if scope["path"] != "/healthz":
            self.running += 1
            self.most = max(self.most, self.running)
            await self.release.wait()
            self.running -= 1
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})


async def test_requests_beyond_the_limit_wait_their_turn_in_order():
    gate = Gate()
    transport = httpx.ASGITransport(Admission(gate, limit=2))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        pending = []
        for number in range(5):
            pending.append(asyncio.create_task(http.get(f"/r{number}")))
            await asyncio.sleep(0.01)  # arrival order is the order of the calls
        await asyncio.sleep(0.05)
        assert gate.running == 2 and gate.order == ["/r0", "/r1"]
        # Health checks are never queued behind the work.
        assert (await http.get("/healthz")).status_code == 200
        gate.release.set()
        responses = await asyncio.gather(*pending)
    assert all(response.status_code == 200 for response in responses)
    assert gate.most == 2
    assert [path for path in gate.order if path != "/healthz"] == [f"/r{n}" for n in range(5)]
