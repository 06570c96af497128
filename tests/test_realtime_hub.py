"""The hubs on their own: bounded mailboxes, control messages, a Redis that is not there, one
that hangs, and one that stalls for half a second."""

from __future__ import annotations

import asyncio
import json
import logging
import time

import pytest
from redis.asyncio import Redis

from skyslots.config import Settings
from skyslots.realtime.hub import CHANGE, DROP, FINAL, RESYNC, SLOW, LocalHub
from skyslots.realtime.messages import RESYNC_NOTICE
from skyslots.realtime.redis_hub import RedisHub
from tests.realtime_redis import PrivateRedis
from tests.servers import free_port


def change(version: int, **extra: object) -> str:
    return json.dumps({"type": "slot.updated", "event_id": 1, "version": version, **extra})


async def test_a_full_mailbox_drops_its_subscriber_and_spares_the_others() -> None:
    hub = LocalHub(queue_size=3, heartbeat_seconds=3600)
    slow, fast = hub.subscribe(1), hub.subscribe(1)
    other_event = hub.subscribe(2)
    for version in range(1, 4):
        hub.deliver(1, change(version))
        item = await fast.get()
        assert (item[0], item[1]) == (CHANGE, version)
        assert item[3] == {"type": "websocket.send", "text": change(version)}
    assert slow.pending() == 3
    hub.deliver(1, change(4))  # the fourth does not fit: the slow one goes
    assert slow.dropped and hub.subscriber_count(1) == 1
    assert (await slow.get())[0::2] == (DROP, SLOW)
    assert (await fast.get())[1] == 4
    assert other_event.pending() == 0


async def test_control_messages_and_malformed_input() -> None:
    hub = LocalHub(queue_size=8, heartbeat_seconds=3600)
    subscription = hub.subscribe(1)
    hub.deliver(1, RESYNC_NOTICE)
    assert (await subscription.get())[0] == RESYNC
    hub.deliver(1, "not json")
    hub.deliver(1, json.dumps({"type": "slot.updated"}))  # no version
    assert subscription.pending() == 0
    hub.deliver(1, json.dumps({"type": "event.deleted", "event_id": 1, "version": 9}))
    assert (await subscription.get())[:2] == (FINAL, 9)
    subscription.close()
    assert hub.subscriber_count() == 0


async def test_publishing_to_an_unreachable_redis_neither_raises_nor_waits() -> None:
    hub = RedisHub(
        url=f"redis://127.0.0.1:{free_port()}/0",  # nothing listens there
        channel_prefix="test:",
        publish_timeout=0.25,
        queue_size=8,
        heartbeat_seconds=3600,
    )
    await hub.start()  # waits a moment for Redis, then carries on without it
    try:
        subscription = hub.subscribe(1)
        began = time.monotonic()
        for version in (1, 2, 3):
            await hub.publish(1, change(version))
        assert time.monotonic() - began < 0.5
        # This process's own sockets still get every change.
        assert [(await subscription.get())[1] for _ in range(3)] == [1, 2, 3]
        assert not hub.connected
    finally:
        await hub.stop()


async def test_a_hung_redis_never_delays_the_publisher() -> None:
    """A Redis that accepts and never answers: publish returns at once; the changes reach this
    process's sockets when the send times out."""
    hung = await asyncio.start_server(lambda reader, writer: None, "127.0.0.1", 0)
    port = hung.sockets[0].getsockname()[1]
    hub = RedisHub(
        url=f"redis://127.0.0.1:{port}/0",
        channel_prefix="test:",
        publish_timeout=0.5,
        queue_size=8,
        heartbeat_seconds=3600,
    )
    try:
        await hub.start()
        subscription = hub.subscribe(1)
        began = time.monotonic()
        for version in (1, 2, 3):
            await hub.publish(1, change(version))
        assert time.monotonic() - began < 0.1
        got = [(await asyncio.wait_for(subscription.get(), 5))[1] for _ in range(3)]
        assert got == [1, 2, 3]
    finally:
        await hub.stop()
        hung.close()


async def test_a_half_second_stall_is_not_a_redis_failure(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The publish timeout counts wall-clock time: a stalled Redis, a descheduled process and an
    event loop lagging under a rush all add to it. Half a second of stall (Redis paused here; a
    lagging loop on a loaded 2-core machine in the suite) is within the default timeout: the
    change goes through Redis and nothing is logged as failed."""
    redis = PrivateRedis()
    redis.start()
    hub = RedisHub(
        url=redis.url,
        channel_prefix="test:",
        publish_timeout=Settings().redis_publish_timeout_seconds,
        queue_size=8,
        heartbeat_seconds=3600,
    )
    pauser = Redis.from_url(redis.url)
    try:
        await hub.start()
        assert hub.connected
        subscription = hub.subscribe(1)
        await hub.publish(1, change(1))
        assert (await asyncio.wait_for(subscription.get(), 5))[1] == 1
        with caplog.at_level(logging.WARNING, logger="skyslots.realtime.redis_hub"):
            await pauser.execute_command("CLIENT", "PAUSE", "500", "ALL")
            await hub.publish(1, change(2))
            assert (await asyncio.wait_for(subscription.get(), 5))[1] == 2
        assert "publish to Redis failed" not in caplog.text
    finally:
        await pauser.aclose()
        await hub.stop()
        redis.stop()
