"""The admission gate: slots, a bounded FIFO queue, a bounded wait, and no slot lost when
a waiting or running request goes away."""

from __future__ import annotations

import asyncio

import pytest

from keyart.admission import Admission
from keyart.errors import ConfigError, Overloaded


async def test_slots_queue_in_order_and_refuse_beyond_the_queue() -> None:
    gate = Admission(max_inflight=2, max_queued=2, queue_timeout_s=5)
    release = asyncio.Event()
    order: list[int] = []

    async def request(i: int) -> None:
        async with gate.slot():
            order.append(i)
            await release.wait()

    running = [asyncio.create_task(request(i)) for i in range(4)]
    await asyncio.sleep(0.05)
    assert (gate.inflight, gate.queued) == (2, 2)
    with pytest.raises(Overloaded, match="running 2 requests with 2 waiting"):
        await request(99)
    assert gate.rejected == 1
    release.set()
    await asyncio.gather(*running)
    assert order == [0, 1, 2, 3]  # the queue is served first come, first served
    assert (gate.inflight, gate.queued) == (0, 0)


async def test_a_wait_is_bounded_and_a_cancelled_waiter_frees_its_place() -> None:
    gate = Admission(max_inflight=1, max_queued=2, queue_timeout_s=0.1)
    async with gate.slot():
        with pytest.raises(Overloaded, match=r"within 0\.1s"):
            async with gate.slot():
                raise AssertionError("never admitted")
        waiter = asyncio.create_task(gate.slot().__aenter__())
        await asyncio.sleep(0.01)
        assert gate.queued == 1
        waiter.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiter
        assert gate.queued == 0
    assert gate.inflight == 0
    async with gate.slot():  # nothing leaked: the one slot is free again
        assert gate.inflight == 1


def test_bad_settings() -> None:
    with pytest.raises(ConfigError):
        Admission(0, 1, 1.0)
    with pytest.raises(ConfigError):
        Admission(1, -1, 1.0)
    with pytest.raises(ConfigError):
        Admission(1, 1, 0)
