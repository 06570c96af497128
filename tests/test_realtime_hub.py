"""The hubs on their own: bounded mailboxes, control messages, a Redis that is not there."""

from __future__ import annotations

import json
import time

from skyslots.realtime.hub import CHANGE, DROP, FINAL, RESYNC, SLOW, LocalHub
from skyslots.realtime.messages import RESYNC_NOTICE
from skyslots.realtime.redis_hub import RedisHub
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
