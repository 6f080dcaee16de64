from __future__ import annotations

from typing import Any

from tests.conftest import ADMIN_KEY, learner_token, ws_client, ws_connect

START = """mutation($i: StartChatSessionInput!) { startChatSession(input: $i) { id title status mode preferences { verbosity style } messageCount } }"""
SEND = """mutation($i: SendTutorMessageInput!) { sendTutorMessage(input: $i) { userMessage { id content status } reply { id status content } } }"""


async def test_smoke(gql: Any, jobs: Any, app: Any) -> None:
    token = await learner_token(gql, "t@example.org", "s-t")
    made = await gql(START, {"i": {"studentId": "s-t"}}, token=token)
    print(made)
    sid = made["data"]["startChatSession"]["id"]
    sent = await gql(
        SEND,
        {"i": {"sessionId": sid, "content": "How do fractions work?", "clientMessageId": "c1"}},
        token=token,
    )
    print(sent)
    reply = sent["data"]["sendTutorMessage"]["reply"]["id"]
    print("jobs", await jobs.run())
    async with ws_client(app) as http, ws_connect(http) as ws:
        await ws.send_json({"type": "connection_init", "payload": {"apiKey": ADMIN_KEY}})
        print(await ws.receive_json())
        await ws.send_json(
            {
                "id": "1",
                "type": "subscribe",
                "payload": {
                    "query": "subscription($m: ID!) { tutorReply(messageId: $m) { seq kind delta message { status content source } } }",
                    "variables": {"m": reply},
                },
            }
        )
        for _ in range(40):
            msg = await ws.receive_json(timeout=5)
            print(msg)
            if msg["type"] != "next":
                break
    body = await gql(
        "query($s: ID!) { chatSession(id: $s) { title messageCount messages { edges { node { role status content source grounding { skills { pMastery } recentMistakes } } } } } }",
        {"s": sid},
    )
    print(body)
