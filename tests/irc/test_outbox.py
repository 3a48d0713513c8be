"""A bot's outbox: messages before notices, order kept within each, nothing sent while the
bot is away, pacing after the burst."""

from __future__ import annotations

import asyncio

from breakroom.irc.outbox import Outbox
from support.wait import wait_until_async


async def _run_until(outbox: Outbox, sent: list, count: int, timeout: float = 5.0) -> None:
    task = asyncio.get_running_loop().create_task(outbox.run())
    try:
        await wait_until_async(lambda: len(sent) >= count, timeout, lambda: f"{count} lines sent: {sent}",
                               poll=0.01)
    finally:
        task.cancel()


def test_messages_go_before_notices_and_keep_their_order() -> None:
    sent: list[tuple[str, str, str]] = []
    ready = [False]
    asked: list[bool] = []  # each time the outbox asked whether the bot may send

    def may_send() -> bool:
        asked.append(ready[0])
        return ready[0]
    outbox = Outbox(lambda *line: sent.append(line), may_send, burst=100, rate=1000)
    for i in range(50):
        outbox.put("flooder", f"refused {i}", "NOTICE")
    outbox.put("#breakroom", "alice: the answer")
    outbox.put("#breakroom", "alice: its second line")

    async def scenario() -> None:
        task = asyncio.get_running_loop().create_task(outbox.run())
        # until the outbox has looked at its lines and been told "away"
        await wait_until_async(lambda: asked, 5, "the outbox asking whether it may send", poll=0)
        assert sent == []  # away: everything is held
        ready[0] = True
        outbox.wake()
        task.cancel()
        await _run_until(outbox, sent, 52)
    asyncio.run(scenario())
    assert sent[:2] == [("#breakroom", "alice: the answer", "PRIVMSG"),
                        ("#breakroom", "alice: its second line", "PRIVMSG")]
    assert [text for _, text, _ in sent[2:]] == [f"refused {i}" for i in range(50)]


def test_after_the_burst_lines_are_paced() -> None:
    sent: list[tuple[str, str, str]] = []
    outbox = Outbox(lambda *line: sent.append(line), lambda: True, burst=3, rate=20)
    for i in range(7):
        outbox.put("#c", f"line {i}")

    async def scenario() -> float:
        loop = asyncio.get_running_loop()
        start = loop.time()
        await _run_until(outbox, sent, 7)
        return loop.time() - start
    elapsed = asyncio.run(scenario())
    assert len(sent) == 7 and elapsed >= 4 / 20 * 0.9  # 3 at once, then 4 at 20 a second
