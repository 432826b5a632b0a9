"""A minimal MQTT 3.1.1 QoS 1 publisher for the fleet simulator (publish only, plain TCP).

Why not paho (ADR 0008, "The simulator's publisher"): the load generator shares the 2 cores
of the ingestion benchmark with the broker, the gateway and PostgreSQL, and paho's publish
path (a message object, a lock, one ``send`` per packet, one receive per PUBACK on its network
thread) cost about as much CPU per reading as the whole gateway. This client pre-encodes each
PUBLISH, sends many in one ``sendall`` and reads PUBACKs in bulk. It is still a real QoS 1
client: a message counts as delivered only when its PUBACK arrives, at most ``window``
messages are unacknowledged, and a packet id is reused only after its PUBACK.

Not supported (the simulator needs none of it): subscriptions, QoS 0/2, retained messages,
will messages, TLS, keep-alive pings (keep-alive is 0: the broker never times us out), and
resending after a lost connection (the run fails with an error instead).
"""

from __future__ import annotations

import socket
import struct
import threading
import time
from collections.abc import Callable, Iterable

CONNACK_REFUSED = {
    1: "unacceptable protocol version",
    2: "client identifier rejected",
    3: "server unavailable",
    4: "bad user name or password",
    5: "not authorised",
}
PUBACK = 0x40
PUBLISH_QOS1 = 0x32
MAX_PACKET_ID = 65_535
SEND_CHUNK = 256
"""PUBLISH packets written with one ``sendall``."""


class MqttPublishError(RuntimeError):
    pass


def _remaining_length(n: int) -> bytes:
    out = bytearray()
    while True:
        digit, n = n % 128, n // 128
        out.append(digit | 0x80 if n else digit)
        if not n:
            return bytes(out)


def _utf8(text: str) -> bytes:
    data = text.encode()
    return struct.pack(">H", len(data)) + data


def connect_packet(client_id: str, username: str | None, password: str | None) -> bytes:
    flags = 0x02  # clean session: the simulator keeps no state across connections
    payload = _utf8(client_id)
    if username is not None:
        flags |= 0x80
        payload += _utf8(username)
        if password is not None:
            flags |= 0x40
            payload += _utf8(password)
    variable = _utf8("MQTT") + bytes([4, flags]) + struct.pack(">H", 0)  # keep-alive off
    body = variable + payload
    return bytes([0x10]) + _remaining_length(len(body)) + body


def publish_packet(topic: str, payload: bytes, packet_id: int) -> bytes:
    name = _utf8(topic)
    length = len(name) + 2 + len(payload)
    return b"".join(
        (
            bytes([PUBLISH_QOS1]),
            _remaining_length(length),
            name,
            struct.pack(">H", packet_id),
            payload,
        )
    )


class QoS1Publisher:
    """Connected publisher; ``publish_all`` returns once every message is acknowledged."""

    def __init__(
        self,
        host: str,
        port: int,
        *,
        client_id: str,
        username: str | None = None,
        password: str | None = None,
        window: int = 10_000,
        ack_timeout: float = 60.0,
    ) -> None:
        if not 0 < window < MAX_PACKET_ID:
            raise ValueError("window must be between 1 and 65,534 (16-bit packet ids)")
        self.window = window
        self.ack_timeout = ack_timeout
        self._sock = socket.create_connection((host, port), timeout=ack_timeout)
        self._sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._sock.sendall(connect_packet(client_id, username, password))
        connack = self._recv_exactly(4)
        if connack[0] != 0x20 or connack[1] != 2:
            raise MqttPublishError(f"expected CONNACK, got {connack!r}")
        if connack[3] != 0:
            reason = CONNACK_REFUSED.get(connack[3], f"code {connack[3]}")
            raise MqttPublishError(f"the broker refused the connection: {reason}")
        self._unacked: set[int] = set()
        self._acked_total = 0
        self._changed = threading.Condition()
        self._reader_error: BaseException | None = None
        self._closed = False
        self._reader = threading.Thread(target=self._read_acks, name="puback-reader", daemon=True)
        self._reader.start()

    def _recv_exactly(self, n: int) -> bytes:
        data = b""
        while len(data) < n:
            chunk = self._sock.recv(n - len(data))
            if not chunk:
                raise MqttPublishError("the broker closed the connection")
            data += chunk
        return data

    def _read_acks(self) -> None:
        """Reader thread: PUBACKs are 4 bytes each (0x40 0x02 id); anything else is an error."""
        pending = b""
        try:
            while True:
                try:
                    chunk = self._sock.recv(65_536)
                except TimeoutError:
                    continue
                if not chunk:
                    if self._closed:
                        return
                    raise MqttPublishError("the broker closed the connection")
                pending += chunk
                usable = len(pending) - len(pending) % 4
                ids = []
                for kind, size, packet_id in struct.iter_unpack(">BBH", pending[:usable]):
                    if kind != PUBACK or size != 2:
                        raise MqttPublishError(f"unexpected packet 0x{kind:02x} from the broker")
                    ids.append(packet_id)
                pending = pending[usable:]
                with self._changed:
                    for packet_id in ids:
                        if packet_id not in self._unacked:
                            raise MqttPublishError(f"PUBACK for unknown packet id {packet_id}")
                        self._unacked.remove(packet_id)
                    self._acked_total += len(ids)
                    self._changed.notify_all()
        except BaseException as exc:  # handed to the publishing thread
            with self._changed:
                if not self._closed:
                    self._reader_error = exc
                self._changed.notify_all()

    def _wait(self, ready: Callable[[], bool]) -> None:
        """Block until ``ready()`` (under the condition) or fail on a reader error/timeout."""
        deadline = time.monotonic() + self.ack_timeout
        while not ready():
            if self._reader_error is not None:
                raise MqttPublishError("publishing failed") from self._reader_error
            left = deadline - time.monotonic()
            if left <= 0:
                raise MqttPublishError("the broker stopped acknowledging")
            self._changed.wait(left)
        if self._reader_error is not None:
            raise MqttPublishError("publishing failed") from self._reader_error

    def publish_all(
        self,
        messages: Iterable[tuple[str, bytes]],
        *,
        rate: float,
        count: int | None = None,
        duration: float | None = None,
    ) -> int:
        """Publish at up to ``rate`` messages/s; return the number sent, all acknowledged."""
        source = iter(messages)
        next_id = 0
        sent = 0
        started = time.monotonic()
        exhausted = False
        while not exhausted and (count is None or sent < count):
            now = time.monotonic()
            if duration is not None and now - started >= duration:
                break
            due = int((now - started) * rate) + 1 - sent  # the rate's allowance so far
            if due <= 0:
                time.sleep((sent + 1) / rate - (now - started))
                continue
            room = min(due, SEND_CHUNK)
            if count is not None:
                room = min(room, count - sent)
            with self._changed:
                self._wait(lambda: len(self._unacked) < self.window)
                room = min(room, self.window - len(self._unacked))
                packets = []
                for _ in range(room):
                    item = next(source, None)
                    if item is None:
                        exhausted = True
                        break
                    next_id = next_id % MAX_PACKET_ID + 1
                    if next_id in self._unacked:  # cannot happen with in-order acks; be safe
                        self._wait(lambda: next_id not in self._unacked)  # noqa: B023
                    self._unacked.add(next_id)
                    packets.append(publish_packet(item[0], item[1], next_id))
            if packets:
                self._sock.sendall(b"".join(packets))
                sent += len(packets)
        with self._changed:
            self._wait(lambda: not self._unacked)
        return sent

    def close(self) -> None:
        with self._changed:
            self._closed = True
        try:
            self._sock.sendall(b"\xe0\x00")  # DISCONNECT
            self._sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self._sock.close()
        self._reader.join(timeout=5)
