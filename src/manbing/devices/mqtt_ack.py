"""Acknowledge-after-commit for aiomqtt: the one place that reaches past aiomqtt's public API.

The gateway must send PUBACK only once the readings are committed (otherwise a crash between
the two loses them). paho-mqtt (≥ 2.0) supports this publicly with ``manual_ack_set(True)``
and ``ack(mid, qos)``, but aiomqtt 2.5 does not expose the paho client or a switch for it
(upstream: empicano/aiomqtt issue #345 "Application-controlled acknowledgements", PR #346 not
merged as of aiomqtt 2.5.1). This adapter therefore reads aiomqtt's ``_client`` attribute —
and nothing else private. ``tests/unit/devices/test_mqtt_ack.py`` fails if aiomqtt renames it,
wraps something else in it, or paho drops the manual-ack API, so an upgrade cannot silently
turn exactly-once into at-most-once. When aiomqtt gains a public switch, replace the body of
:class:`ManualAcks` with it.

Draining the incoming queue in batches uses aiomqtt's public ``queue_type`` parameter: the
queue class built here remembers the instance aiomqtt creates.
"""

from __future__ import annotations

import asyncio

import aiomqtt
import paho.mqtt.client as paho


class ManualAcks:
    """Switch an (unconnected) aiomqtt client to manual acknowledgements; ack messages later."""

    def __init__(self, client: aiomqtt.Client) -> None:
        inner = getattr(client, "_client", None)
        if not isinstance(inner, paho.Client):
            raise RuntimeError(
                "aiomqtt no longer keeps its paho client in `_client`: manual acknowledgements "
                "cannot be enabled (see manbing/devices/mqtt_ack.py)"
            )
        inner.manual_ack_set(True)
        self._paho = inner

    def ack(self, message: aiomqtt.Message) -> None:
        """Send the PUBACK of a QoS 1 message (QoS 0 needs none)."""
        if message.qos > 0:
            self._paho.ack(message.mid, message.qos)


class CapturedQueue:
    """A ``queue_type`` for aiomqtt that keeps a reference to the queue it creates."""

    def __init__(self) -> None:
        self.queue: asyncio.Queue[aiomqtt.Message] | None = None
        holder = self

        class _Queue(asyncio.Queue[aiomqtt.Message]):
            def __init__(self, maxsize: int = 0) -> None:
                super().__init__(maxsize)
                holder.queue = self

        self.queue_type: type[asyncio.Queue[aiomqtt.Message]] = _Queue

    def drain(self, batch: list[aiomqtt.Message], limit: int) -> None:
        """Move what is already queued (up to ``limit`` in ``batch``) without awaiting."""
        queue = self.queue
        if queue is None:
            raise RuntimeError("the client was not built with this queue_type")
        while len(batch) < limit and not queue.empty():
            batch.append(queue.get_nowait())
