"""Source keys: how a re-import finds the Observation or Condition it loaded before.

A key names one source record *for one organisation*: ``fhir:<organisation>:<source id>``, where
the organisation is the one managing the resident the record is about (for a station importing
its own residents, the station) and the source id is, in order:

1. the entry's ``fullUrl`` when it is a ``urn:uuid:`` or absolute (the source server's base is
   part of it);
2. ``<Type>/<uuid>`` for a resource whose id is a UUID (NDJSON from a Bulk export);
3. ``<identifier.system>|<identifier.value>`` of its first identifier with both;
4. ``<meta.source>|<Type>/<id>`` for any other id, when the resource names its source system.

Otherwise the resource has no key and each import adds it again. A key longer than the column
keeps the organisation readable and a SHA-256 of the source id. Two stations loading the same
source records for their own residents thus get their own rows, and a station (or the centre
above it) loading a file again matches them. Revision 0016 rewrote the keys stored before.
"""

from __future__ import annotations

import base64
import hashlib
import uuid
from typing import Any

PREFIX = "fhir:"
LIMIT = 100  # observations.idempotency_key, conditions.source_key
KEYED_TYPES = ("Observation", "Condition")


def source_id(resource_type: str, full_url: Any, resource: dict[str, Any]) -> str | None:
    """The source record's id, unique in reality, or None (see the module's docstring)."""
    if resource_type not in KEYED_TYPES:
        return None
    if isinstance(full_url, str) and full_url.startswith(("urn:uuid:", "http://", "https://")):
        return full_url
    raw = resource.get("id")
    if isinstance(raw, str):
        try:
            return f"{resource_type}/{uuid.UUID(raw)}"
        except ValueError:
            pass
    identifiers = resource.get("identifier")
    for identifier in identifiers if isinstance(identifiers, list) else []:
        if isinstance(identifier, dict):
            system, value = identifier.get("system"), identifier.get("value")
            if isinstance(system, str) and system and isinstance(value, str) and value:
                return f"{system}|{value}"
    meta = resource.get("meta")
    source = meta.get("source") if isinstance(meta, dict) else None
    if isinstance(raw, str) and raw and isinstance(source, str) and source:
        return f"{source}|{resource_type}/{raw}"
    return None


def namespaced(organization_id: uuid.UUID, source: str) -> str:
    """The stored key: the source id within the organisation, hashed if too long."""
    key = f"{PREFIX}{organization_id.hex}:{source}"
    if len(key) <= LIMIT:
        return key
    digest = hashlib.sha256(source.encode("utf-8", "surrogatepass")).digest()
    return f"{PREFIX}{organization_id.hex}:sha256:{base64.urlsafe_b64encode(digest).decode()[:43]}"
