"""Integration fixtures: the private Mosquitto broker."""

from tests.mqtt_broker import broker  # noqa: F401
