"""Mutation fuzzing of the FHIR API: bad input gets a 4xx OperationOutcome and stores nothing.

Valid resources the server accepts (one of each writable type, and for PUT the server's own
rendering of a stored one) are mutated: a field dropped, a value replaced by another JSON type, a
bad or future date, a dangling or malformed reference, a wrong resourceType, an unknown field, a
subtree moved where it does not belong. They go through the real app, signed in as the demo
doctor: POST (plain and conditional), PUT (with and without If-Match), transaction and batch
Bundles, and bodies that are not quite JSON (cut short, nested thousands deep). Searches get
generated parameters; reads get malformed ids and version ids.

Every answer must be below 500, every refusal an OperationOutcome whose diagnostics are not a
bare Python exception, and a refused write leaves every table as it was (all of them counted).

``MANBING_FHIR_FUZZ_EXAMPLES`` sets the examples per test (20 by default: about 15 s for the
file on SQLite, 25 s on PostgreSQL, most of it building each test's district);
``MANBING_FHIR_FUZZ_SEED`` fixes hypothesis's seed. The default back-end is used: PostgreSQL
when ``MANBING_DATABASE_URL`` names it.
"""

from __future__ import annotations

import copy
import json
import os
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlencode

import httpx
import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from manbing.db.base import Base
from manbing.db.models import Device
from manbing.db.models.residents import NATIONAL_ID_SYSTEM
from manbing.fhir.store import SEARCH_PARAMS, SUPPORTED_TYPES, WRITABLE_TYPES
from tests.conftest import NOW, TODAY
from tests.e2e.conftest import login

EXAMPLES = int(os.environ.get("MANBING_FHIR_FUZZ_EXAMPLES", "20"))
SEED = os.environ.get("MANBING_FHIR_FUZZ_SEED")
FHIR = "/fhir"
LOINC = "http://loinc.org"
SNOMED = "http://snomed.info/sct"
ATC = "http://www.whocc.no/atc"
# what a refusal must not read like: an exception's text instead of a reason naming the element
RAW_EXCEPTION = re.compile(
    r"^(TypeError|ValueError|KeyError|AttributeError|IndexError|OverflowError)\b"
    r"|object has no attribute|NoneType|not subscriptable|unhashable|Traceback"
)


def _fuzz(test: Callable[..., None]) -> Callable[..., None]:
    """Hypothesis settings of every test here (the examples run inside one test's world)."""
    run = settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )(test)
    return seed(int(SEED))(run) if SEED else run


# ----------------------------------------------------------------- the world the seeds refer to
@dataclass
class World:
    client: TestClient
    csrf: str
    factory: sessionmaker[Session]
    patient: str = ""  # in scope, enrolled in the hypertension programme
    other_patient: str = ""  # in scope, in no programme
    station: str = ""
    hospital: str = ""
    practitioners: list[str] = field(default_factory=list)
    visit: str = ""  # a follow-up (Encounter, and its Appointment)
    stored: dict[str, str] = field(default_factory=dict)  # type -> id of a stored resource
    seeds: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # type -> POST bodies
    puts: dict[str, dict[str, Any]] = field(default_factory=dict)  # type -> PUT body

    def call(
        self,
        method: str,
        path: str,
        body: Any = None,
        headers: dict[str, str] | None = None,
        params: list[tuple[str, str]] | None = None,
        raw: bytes | None = None,
    ) -> httpx.Response:
        sent = {"X-CSRF-Token": self.csrf, **(headers or {})}
        content = raw
        if body is not None:
            content = json.dumps(body, ensure_ascii=False, allow_nan=True).encode()
        if content is not None:
            sent["Content-Type"] = "application/fhir+json"
        response: httpx.Response = self.client.request(
            method, f"{FHIR}/{path}", content=content, headers=sent, params=params
        )
        return response

    def counts(self) -> dict[str, int]:
        tables = Base.metadata.sorted_tables
        query = select(*(select(func.count()).select_from(t).scalar_subquery() for t in tables))
        with self.factory() as session:
            row = session.execute(query).one()
        return {t.name: int(n) for t, n in zip(tables, row, strict=True)}


def _resources(world: World, path: str, **params: str) -> list[dict[str, Any]]:
    found = world.call("GET", path, params=list(params.items()))
    assert found.status_code == 200, found.text
    return [e["resource"] for e in found.json().get("entry", [])]


def _created(world: World, rtype: str, body: dict[str, Any]) -> str:
    response = world.call("POST", rtype, body)
    assert response.status_code == 201, (rtype, response.text)
    return str(response.json()["id"])


def _bp(patient: str, sbp: Any = 142, dbp: Any = 88) -> dict[str, Any]:
    def component(code: str, value: Any) -> dict[str, Any]:
        return {
            "code": {"coding": [{"system": LOINC, "code": code}]},
            "valueQuantity": {"value": value, "unit": "mmHg", "code": "mm[Hg]"},
        }

    return {
        "resourceType": "Observation",
        "status": "final",
        "code": {"coding": [{"system": LOINC, "code": "85354-9"}]},
        "subject": {"reference": f"Patient/{patient}"},
        "effectiveDateTime": "2026-11-20T08:30:00+08:00",
        "component": [component("8480-6", sbp), component("8462-4", dbp)],
    }


def _glucose(patient: str) -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "status": "final",
        "category": [{"coding": [{"code": "laboratory"}]}],
        "code": {"coding": [{"system": LOINC, "code": "1558-6"}]},
        "subject": {"reference": f"Patient/{patient}"},
        "effectiveDateTime": "2026-11-21",
        "valueQuantity": {"value": 6.8, "unit": "mmol/L", "code": "mmol/L"},
    }


def _seeds(world: World) -> dict[str, list[dict[str, Any]]]:
    patient, visit = world.patient, world.visit
    return {
        "Patient": [
            {
                "resourceType": "Patient",
                "identifier": [{"system": NATIONAL_ID_SYSTEM, "value": "33010819600315003X"}],
                "name": [{"family": "王", "given": ["建国"]}],
                "telecom": [{"system": "phone", "value": "13800138000"}],
                "address": [{"line": ["西兴街道 1 号"], "city": "杭州"}],
            },
            {
                "resourceType": "Patient",
                "identifier": [{"system": "urn:oid:1.2.3", "value": "MRN-1"}],
                "name": [{"use": "official", "text": "赵敏"}],
                "gender": "female",
                "birthDate": "1958-07-02",
            },
        ],
        "Observation": [_bp(patient), _glucose(patient)],
        "Condition": [
            {
                "resourceType": "Condition",
                "clinicalStatus": {"coding": [{"code": "active"}]},
                "verificationStatus": {"coding": [{"code": "confirmed"}]},
                "code": {"coding": [{"system": SNOMED, "code": "44054006"}], "text": "糖尿病"},
                "subject": {"reference": f"Patient/{patient}"},
                "onsetDateTime": "2019-05-01",
                "recordedDate": "2019-05-02",
            }
        ],
        "Organization": [
            {
                "resourceType": "Organization",
                "identifier": [{"system": "urn:oid:2.9", "value": "ORG-FUZZ"}],
                "name": "滨江医院",
                "type": [
                    {"coding": [{"system": "urn:manbing:organization-type", "code": "hospital"}]}
                ],
            }
        ],
        "Practitioner": [
            {
                "resourceType": "Practitioner",
                "identifier": [{"system": "urn:manbing:practitioner-licence", "value": "LIC-FUZZ"}],
                "name": [{"text": "周医生"}],
                "gender": "male",
                "telecom": [{"system": "phone", "value": "13900139000"}],
            }
        ],
        "MedicationStatement": [
            {
                "resourceType": "MedicationStatement",
                "status": "active",
                "medicationCodeableConcept": {
                    "coding": [{"system": ATC, "code": "C08CA01"}],
                    "text": "氨氯地平片",
                },
                "subject": {"reference": f"Patient/{patient}"},
                "effectivePeriod": {"start": "2026-10-01"},
                "dosage": [
                    {
                        "doseAndRate": [{"doseQuantity": {"value": 5, "unit": "mg"}}],
                        "timing": {"repeat": {"frequency": 1, "period": 1, "periodUnit": "d"}},
                        "route": {"text": "口服"},
                    }
                ],
            }
        ],
        "MedicationRequest": [
            {
                "resourceType": "MedicationRequest",
                "status": "active",
                "intent": "order",
                "medicationCodeableConcept": {"text": "二甲双胍片"},
                "subject": {"reference": f"Patient/{patient}"},
                "encounter": {"reference": f"Encounter/{visit}"},
                "dosageInstruction": [
                    {
                        "text": "餐后",
                        "doseAndRate": [{"doseQuantity": {"value": 0.5, "unit": "g"}}],
                        "timing": {"repeat": {"frequency": 2, "period": 1, "periodUnit": "d"}},
                    }
                ],
            }
        ],
        "Encounter": [
            {
                "resourceType": "Encounter",
                "status": "finished",
                "class": {
                    "system": "http://terminology.hl7.org/CodeSystem/v3-ActCode",
                    "code": "AMB",
                },
                "subject": {"reference": f"Patient/{patient}"},
                "period": {"start": TODAY.isoformat()},
                "contained": [{**_bp(patient, 128, 78), "id": "bp"}],
            }
        ],
        "ServiceRequest": [
            {
                "resourceType": "ServiceRequest",
                "status": "active",
                "intent": "order",
                "priority": "urgent",
                "subject": {"reference": f"Patient/{patient}"},
                "performer": [{"reference": f"Organization/{world.hospital}"}],
                "performerType": {"text": "心内科"},
                "reasonCode": [{"text": "血压控制不满意"}],
            }
        ],
        "CareTeam": [
            {
                "resourceType": "CareTeam",
                "status": "active",
                "name": "西兴慢病团队",
                "managingOrganization": [{"reference": f"Organization/{world.station}"}],
                "participant": [
                    {"role": [{"text": "全科医生"}], "member": {"reference": f"Practitioner/{p}"}}
                    for p in world.practitioners[:2]
                ],
            }
        ],
        "CarePlan": [
            {
                "resourceType": "CarePlan",
                "status": "active",
                "intent": "plan",
                "category": [{"coding": [{"system": "urn:manbing:programme", "code": "copd"}]}],
                "subject": {"reference": f"Patient/{world.other_patient}"},
            }
        ],
    }


@pytest.fixture
def world(client: TestClient, app_db: sessionmaker[Session]) -> World:
    world = World(client, login(client), app_db)
    plans = _resources(world, "CarePlan", _count="200")
    world.patient = next(
        p["subject"]["reference"].split("/")[1]
        for p in plans
        if p["status"] == "active" and p["category"][0]["coding"][0]["code"] == "hypertension"
    )
    patients = _resources(world, "Patient", _count="50")
    planned = {p["subject"]["reference"].split("/")[1] for p in plans}
    world.other_patient = next(p["id"] for p in patients if p["id"] not in planned)
    world.station = next(
        p["managingOrganization"]["reference"].split("/")[1]
        for p in patients
        if p["id"] == world.patient
    )
    world.hospital = client.get("/api/v1/hospitals").json()[0]["id"]
    world.practitioners = [p["id"] for p in _resources(world, "Practitioner", _count="50")]
    world.seeds = _seeds(world)
    world.visit = _created(world, "Encounter", world.seeds["Encounter"][0])
    world.seeds = _seeds(world)
    # one stored resource of each type, for PUT, _history and reads
    for rtype, bodies in world.seeds.items():
        if rtype == "Encounter":
            world.stored[rtype] = world.visit
        elif rtype == "CarePlan":
            continue
        else:
            world.stored[rtype] = _created(world, rtype, bodies[0])
    world.stored["CarePlan"] = next(
        p["id"] for p in plans if p["subject"]["reference"] == f"Patient/{world.patient}"
    )
    world.stored["Appointment"] = world.visit
    world.stored["Task"] = world.stored["ServiceRequest"]
    with app_db() as session:
        device = Device(
            id=uuid.uuid4(),
            serial="BP-FUZZ",
            kind="bp_monitor",
            resident_id=uuid.UUID(world.patient),
            bound_at=NOW,
        )
        session.add(device)
        session.commit()
        world.stored["Device"] = str(device.id)
    for rtype, rid in world.stored.items():
        if rtype in ("Encounter", "ServiceRequest"):
            continue  # update refused by design (405): still fuzzed, with the read body
        current = world.call("GET", f"{rtype}/{rid}")
        assert current.status_code == 200, current.text
        body = current.json()
        body.pop("meta", None)
        again = world.call("PUT", f"{rtype}/{rid}", body)
        assert again.status_code == 200, (rtype, again.text)  # the seed itself is accepted
        world.puts[rtype] = body
    for rtype in ("Encounter", "ServiceRequest"):
        body = world.call("GET", f"{rtype}/{world.stored[rtype]}").json()
        body.pop("meta", None)
        world.puts[rtype] = body
    return world


# ------------------------------------------------------------------------------- mutations
_UUID = str(uuid.UUID(int=0x5EED))
NASTY: list[Any] = [
    None,
    True,
    False,
    0,
    -1,
    1,
    2**31,
    2**63,
    10**400,
    -(10**30),
    1e308,
    -1e308,
    5e-324,
    0.5,
    "",
    " ",
    "NaN",
    "Infinity",
    "-inf",
    "1e400",
    "0x1A",
    "２０２６",
    "2026-02-30",
    "2026-13",
    "2026-13-01",
    "2026-00-10",
    "2026-11-24T25:61:00",
    "2026-11-24T10:00:00+25:00",
    "2026-11-24T10:00",
    "9999-12-31",
    "0001-01-01",
    "1899-12-31",
    "2099-01-01T00:00:00Z",
    "2026-11-25",
    "2026-11-24T23:59:59+08:00",
    f"Patient/{_UUID}",
    "Patient/not-a-uuid",
    "Patient/",
    "Patient/../Organization/x",
    f"urn:uuid:{_UUID}",
    f"Organization/{_UUID}",
    f"Encounter/{_UUID}",
    "http://elsewhere.example/fhir/Patient/1",
    "x" * 5000,
    "王" * 600,
    "\x01\x02\x1f\x7f",
    "\u200b\ufeff",
    "\ud7ff\U0001f600" * 20,
    "%",
    "_",
    "'; DROP TABLE residents; --",
    "\\",
    "a|b|c",
    "male",
    "active",
    "final",
]
KEYS = [
    "resourceType",
    "id",
    "reference",
    "value",
    "code",
    "system",
    "text",
    "status",
    "start",
    "end",
    "unknownField",
    "_value",
    "extension",
    "coding",
    "valueQuantity",
    "meta",
]
SCALARS = st.one_of(
    st.sampled_from(NASTY),
    st.text(max_size=30),
    st.integers(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.dates().map(lambda d: d.isoformat()),
    st.datetimes().map(lambda d: d.isoformat()),
    st.sampled_from((*SUPPORTED_TYPES, "Bundle", "Basic", "patient", "")),
)
VALUES = st.one_of(
    SCALARS,
    st.lists(SCALARS, max_size=3),
    st.dictionaries(st.sampled_from(KEYS), SCALARS, max_size=3),
    st.just([]),
    st.just({}),
    st.just([{}]),
    st.just([None]),
)

# values of the same JSON type: they pass the structure check and reach the platform's rules
STRINGS = st.one_of(
    st.sampled_from([v for v in NASTY if isinstance(v, str)]),
    st.text(max_size=30),
    st.dates().map(lambda d: d.isoformat()),
    st.datetimes().map(lambda d: d.isoformat()),
    st.sampled_from(
        [
            "entered-in-error",
            "cancelled",
            "unknown",
            "other",
            "inactive",
            "revoked",
            "completed",
            "stopped",
            "on-hold",
            "draft",
            "proposed",
            "h",
            "wk",
            "mg/dL",
            "mmol/L",
            "kg",
            "[lb_av]",
            "%",
            "http://loinc.org",
            "http://snomed.info/sct",
            "http://hl7.org/fhir/sid/icd-10",
            "urn:manbing:programme",
            "8480-6",
            "8462-4",
            "4548-4",
            "E11",
            "I10",
            "t2dm",
            "hypertension",
        ]
    ),
)
NUMBERS = st.one_of(
    st.sampled_from([0, -1, 1, 2, 12, 25, 2**31, 2**63, 10**400, 1e308, 5e-324, 0.1, -0.0, 1.5]),
    st.integers(min_value=-(10**6), max_value=10**6),
    st.floats(allow_nan=False, allow_infinity=False),
)


def _similar(value: Any) -> st.SearchStrategy[Any]:
    if isinstance(value, bool):
        return st.just(not value)
    if isinstance(value, (int, float)):
        return NUMBERS
    if isinstance(value, str):
        return STRINGS
    return VALUES


Path = tuple[str | int, ...]


def _paths(node: Any, at: Path = ()) -> list[Path]:
    found = [at]
    if isinstance(node, dict):
        for key, value in node.items():
            found += _paths(value, (*at, key))
    elif isinstance(node, list):
        for n, value in enumerate(node):
            found += _paths(value, (*at, n))
    return found


def _get(node: Any, path: Path) -> Any:
    for step in path:
        node = node[step]
    return node


def _set(root: Any, path: Path, value: Any) -> Any:
    if not path:
        return value
    _get(root, path[:-1])[path[-1]] = value
    return root


@st.composite
def mutated(draw: st.DrawFn, original: Any, *, top_level: bool = True) -> Any:
    """``original`` with one to three mutations, each at a drawn place."""
    body = copy.deepcopy(original)
    for _ in range(draw(st.sampled_from([1, 1, 1, 2, 3]))):
        paths = _paths(body)[1:] or [()]
        # the whole body only now and then: most mutations should pass the first checks
        path = () if top_level and draw(st.integers(0, 19)) == 0 else draw(st.sampled_from(paths))
        here = _get(body, path)
        kind = draw(
            st.sampled_from(
                [
                    *("similar",) * 4,
                    "replace",
                    "replace",
                    "drop",
                    "drop",
                    "add",
                    "wrap",
                    "unwrap",
                    "transplant",
                    "stringify",
                ]
            )
        )
        if kind == "drop" and path:
            parent = _get(body, path[:-1])
            if isinstance(parent, dict):
                del parent[path[-1]]
            elif isinstance(parent, list):
                parent.pop(int(path[-1]))
            continue
        if kind == "add" and isinstance(here, dict):
            here[draw(st.sampled_from(KEYS))] = copy.deepcopy(draw(VALUES))
            continue
        if kind == "add" and isinstance(here, list):
            copied = bool(here) and draw(st.booleans())
            here.append(copy.deepcopy(here[0] if copied else draw(VALUES)))
            continue
        if kind == "wrap":
            new: Any = draw(st.sampled_from([[here], {"value": here}, [here, here]]))
        elif kind == "unwrap" and isinstance(here, list) and here:
            new = here[0]
        elif kind == "unwrap" and isinstance(here, dict) and here:
            new = next(iter(here.values()))
        elif kind == "transplant":
            new = copy.deepcopy(_get(body, draw(st.sampled_from(_paths(body)))))
        elif kind == "similar":
            new = draw(_similar(here))
        elif kind == "stringify" and not isinstance(here, str):
            new = json.dumps(here, allow_nan=True)
        else:
            new = draw(VALUES)
        body = _set(body, path, copy.deepcopy(new))  # never share a drawn value
    return body


# --------------------------------------------------------------------------------- checks
def _refusal(response: httpx.Response) -> str:
    """The diagnostics of a 4xx OperationOutcome (failing the test for anything else)."""
    assert response.headers.get("content-type", "").startswith("application/fhir+json"), (
        response.status_code,
        response.headers.get("content-type"),
        response.text[:300],
    )
    body = response.json()
    return _outcome(body)


def _outcome(body: Any) -> str:
    assert isinstance(body, dict) and body.get("resourceType") == "OperationOutcome", body
    diagnostics = str(body["issue"][0].get("diagnostics") or "")
    assert diagnostics.strip(), body
    assert not RAW_EXCEPTION.search(diagnostics), f"unhelpful diagnostics: {diagnostics!r}"
    return diagnostics


def _checked(
    world: World, before: dict[str, int], response: httpx.Response, what: str
) -> httpx.Response:
    """Below 500; a refusal is an OperationOutcome and left every table as it was."""
    assert response.status_code < 500, (what, response.status_code, response.text[:2000])
    if response.status_code >= 400:
        _refusal(response)
        after = world.counts()
        changed = {k: (before[k], after[k]) for k in before if before[k] != after[k]}
        assert not changed, (what, response.status_code, response.text[:500], changed)
    return response


def _segment(raw: str) -> str:
    """A path segment sent as it is: dots too are escaped, so no client folds ``..`` away."""
    return quote(raw, safe="").replace(".", "%2E")


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, allow_nan=True)[:3000]


# ---------------------------------------------------------------------------------- writes
IF_MATCH = st.one_of(
    st.none(),
    st.none(),
    st.none(),
    st.none(),
    st.sampled_from(['W/"1"', '"1"', 'W/"2"', 'W/"999"', "*", "", 'W/""', "W/", "garbage"]),
    st.text(
        alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E),
        max_size=20,
    ),
)


def _typed_seed(world: World) -> st.SearchStrategy[tuple[str, dict[str, Any]]]:
    pairs = [(rtype, body) for rtype, bodies in world.seeds.items() for body in bodies]
    return st.sampled_from(pairs)


def test_mutated_creates_are_refused_cleanly(world: World) -> None:
    @_fuzz
    @given(data=st.data())
    def run(data: st.DataObject) -> None:
        rtype, original = data.draw(_typed_seed(world))
        body = data.draw(mutated(original))
        path = data.draw(st.sampled_from([rtype, rtype, rtype, *WRITABLE_TYPES]))
        before = world.counts()
        response = world.call("POST", path, body)
        _checked(world, before, response, f"POST {path} {_dumps(body)}")

    run()


IF_NONE_EXIST = st.one_of(
    st.sampled_from(
        [
            f"identifier={NATIONAL_ID_SYSTEM}|33010819600315003X",
            "identifier=urn:oid:1.2.3|MRN-1",
            "name=王",
            "birthdate=2026-02-30",
            "birthdate=gt2026-13",
            "gender=robot",
            "unknown=1",
            "_count=abc",
            "_count=-5",
            "&&&",
            "=",
            "?",
            "_id=not-a-uuid",
            "patient=Patient/../x",
            "code=|",
            "date=ne",
            "_lastUpdated=2026",
        ]
    ),
    st.lists(
        st.tuples(
            st.sampled_from(["identifier", "name", "_id", "patient", "code", "date", "x"]),
            st.text(max_size=15),
        ),
        max_size=3,
    ).map(urlencode),
)


def test_conditional_creates_are_refused_cleanly(world: World) -> None:
    @_fuzz
    @given(data=st.data())
    def run(data: st.DataObject) -> None:
        rtype, original = data.draw(_typed_seed(world))
        body = data.draw(st.one_of(st.just(original), mutated(original)))
        header = quote(data.draw(IF_NONE_EXIST), safe="=&|:/?,%")  # a header is ASCII
        before = world.counts()
        response = world.call("POST", rtype, body, headers={"If-None-Exist": header})
        _checked(world, before, response, f"POST {rtype} If-None-Exist {header!r} {_dumps(body)}")

    run()


def test_mutated_updates_are_refused_cleanly(world: World) -> None:
    @_fuzz
    @given(data=st.data())
    def run(data: st.DataObject) -> None:
        rtype = data.draw(st.sampled_from(sorted(world.puts)))
        body = data.draw(mutated(world.puts[rtype]))
        rid = data.draw(
            st.one_of(
                st.just(world.stored[rtype]),
                st.just(world.stored[rtype]),
                st.sampled_from([_UUID, "not-a-uuid", "x" * 100, "..", "%00", "1"]),
                st.text(min_size=1, max_size=40).filter(lambda s: s.strip("/.") != ""),
            )
        )
        if_match = data.draw(IF_MATCH)
        headers = {"If-Match": if_match} if if_match is not None else {}
        before = world.counts()
        path = f"{rtype}/{_segment(rid)}"
        response = world.call("PUT", path, body, headers=headers)
        _checked(world, before, response, f"PUT {path} If-Match {if_match!r} {_dumps(body)}")

    run()


# --------------------------------------------------------------------------------- bundles
def _entries(world: World) -> list[dict[str, Any]]:
    """The valid entries a mutated Bundle starts from: a new Patient with two Observations and
    a Condition referring to it by urn:uuid, and an update of a stored Condition."""
    patient_url = "urn:uuid:" + str(uuid.UUID(int=1))
    subject = {"reference": patient_url}
    new_patient = copy.deepcopy(world.seeds["Patient"][1])
    observations = [
        {**copy.deepcopy(world.seeds["Observation"][0]), "subject": subject},
        {**copy.deepcopy(world.seeds["Observation"][1]), "subject": subject},
    ]
    condition = {**copy.deepcopy(world.seeds["Condition"][0]), "subject": subject}
    stored = world.stored["Condition"]
    update = {**copy.deepcopy(world.puts["Condition"]), "id": stored}
    return [
        {
            "fullUrl": patient_url,
            "resource": new_patient,
            "request": {"method": "POST", "url": "Patient"},
        },
        *(
            {
                "fullUrl": "urn:uuid:" + str(uuid.UUID(int=n + 2)),
                "resource": resource,
                "request": {"method": "POST", "url": resource["resourceType"]},
            }
            for n, resource in enumerate([*observations, condition])
        ),
        {
            "fullUrl": f"http://fhir.test/fhir/Condition/{stored}",
            "resource": update,
            "request": {"method": "PUT", "url": f"Condition/{stored}", "ifMatch": 'W/"2"'},
        },
        {"request": {"method": "GET", "url": f"Patient?_id={world.patient}"}},
        {
            "fullUrl": "urn:uuid:" + str(uuid.UUID(int=9)),
            "resource": copy.deepcopy(world.seeds["Practitioner"][0]),
            "request": {
                "method": "POST",
                "url": "Practitioner",
                "ifNoneExist": "identifier=urn:manbing:practitioner-licence|LIC-FUZZ",
            },
        },
        {
            "resource": {k: v for k, v in world.puts["Practitioner"].items() if k != "id"},
            "request": {"method": "PUT", "url": "Practitioner?identifier=LIC-FUZZ"},
        },
    ]


@st.composite
def bundles(draw: st.DrawFn, world: World, kind: str) -> dict[str, Any]:
    entries = _entries(world)
    chosen = draw(st.lists(st.sampled_from(range(len(entries))), min_size=1, max_size=4))
    picked: list[Any] = [copy.deepcopy(entries[n]) for n in chosen]
    for n, entry in enumerate(picked):  # mostly the resources are mutated, sometimes the entry
        if draw(st.integers(0, 3)) == 0:
            continue
        if "resource" in entry and draw(st.integers(0, 3)) > 0:
            entry["resource"] = draw(mutated(entry["resource"]))
        else:
            picked[n] = draw(mutated(entry, top_level=False))
    bundle: dict[str, Any] = {"resourceType": "Bundle", "type": kind, "entry": picked}
    if draw(st.integers(0, 5)) == 0:
        bundle = draw(mutated(bundle, top_level=False))
    return bundle


def _entry_ok(entry: Any) -> bool:
    status = str(((entry or {}).get("response") or {}).get("status", ""))
    return status[:1] == "2"


@pytest.mark.parametrize("kind", ["transaction", "batch"])
def test_mutated_bundles_are_refused_cleanly(world: World, kind: str) -> None:
    @_fuzz
    @given(data=st.data())
    def run(data: st.DataObject) -> None:
        bundle = data.draw(bundles(world, kind))
        before = world.counts()
        response = world.call("POST", "", bundle)
        what = f"POST Bundle {_dumps(bundle)}"
        _checked(world, before, response, what)
        if response.status_code != 200:
            return
        answers = response.json()["entry"]
        entries = bundle.get("entry") or []
        assert len(answers) == len(entries), (what, answers)
        for answer in answers:
            if not _entry_ok(answer):
                _outcome((answer.get("response") or {}).get("outcome"))
        if kind == "batch" and not any(_entry_ok(a) for a in answers):
            assert world.counts() == before, (what, answers)

    run()


@st.composite
def raw_bodies(draw: st.DrawFn, world: World) -> bytes:
    """Bytes that are not quite JSON, or JSON no resource looks like."""
    _, original = draw(_typed_seed(world))
    text = json.dumps(original, ensure_ascii=False)
    depth = draw(st.sampled_from([63, 64, 65, 1000, 100_000]))
    body: bytes = draw(
        st.one_of(
            st.binary(max_size=200),
            st.integers(0, len(text)).map(lambda n: text[:n].encode()),
            st.just(text.encode("utf-16")),
            st.just(b"\xef\xbb\xbf" + text.encode()),
            st.just(text.replace("{", '{"resourceType": "Patient", ', 1).encode()),
            st.sampled_from([b"1e999", b"NaN", b"-Infinity", b"null", b"[]", b'""', b"{}"]),
            st.just(b"[" * depth + b"]" * depth),
            st.just(
                text[:-1].encode()
                + b', "extension": '
                + b'[{"url": "urn:x", "extension": ' * depth
                + b"[]"
                + b"}]" * depth
                + b"}"
            ),
        )
    )
    return body


def test_raw_bodies_are_refused_cleanly(world: World) -> None:
    @_fuzz
    @given(data=st.data())
    def run(data: st.DataObject) -> None:
        rtype = data.draw(st.sampled_from(sorted(world.puts)))
        method, path = data.draw(
            st.sampled_from(
                [("POST", rtype), ("PUT", f"{rtype}/{world.stored[rtype]}"), ("POST", "")]
            )
        )
        raw = data.draw(raw_bodies(world))
        before = world.counts()
        response = world.call(method, path, raw=raw)
        _checked(world, before, response, f"{method} {path or 'Bundle'} {raw[:300]!r}")

    run()


# -------------------------------------------------------------------------- searches, reads
PARAM_VALUES = st.one_of(
    st.sampled_from(
        [
            "",
            ",",
            "gt2026-02-30",
            "eq2026-13",
            "ge",
            "lt99999",
            "sa2026-11-24T10:00",
            "2026-11-24T25:00:00",
            "1960-03",
            "le1960-03-15",
            "ne2026",
            "ap2026-01-01",
            "0001-01-01",
            "9999-12-31T23:59:59Z",
            "|",
            "a|b|c",
            f"{LOINC}|",
            "|85354-9",
            f"{LOINC}|85354-9",
            f"{NATIONAL_ID_SYSTEM}|33010819600315003X",
            "Patient/not-a-uuid",
            f"Patient/{_UUID}",
            _UUID,
            "-1",
            "0",
            "1e3",
            "99999999999999999999999",
            "²",
            "abc",
            "Observation:patient",
            "Observation:subject",
            "Patient:organization",
            "male",
            "x" * 3000,
            "%",
            "_",
            "'",
            "\\",
        ]
    ),
    st.text(max_size=20).filter(lambda s: "\x00" not in s),
)


@st.composite
def search_params(draw: st.DrawFn, rtype: str) -> list[tuple[str, str]]:
    names = st.one_of(
        st.sampled_from(SEARCH_PARAMS.get(rtype, ("patient",))),
        st.sampled_from(
            ["_id", "_lastUpdated", "_count", "_offset", "_include", "_sort", "_format"]
        ),
        st.sampled_from(["unknown", "_summary", "_elements", "identifier:exact", "name:contains"]),
        st.sampled_from(["patient:Patient", "subject:Patient", "date:missing", "code:text"]),
        st.text(min_size=1, max_size=10).filter(lambda s: "\x00" not in s),
    )
    known = st.sampled_from((*SEARCH_PARAMS.get(rtype, ()), "_id", "_lastUpdated", "_count"))
    return draw(
        st.lists(st.tuples(st.one_of(known, known, known, names), PARAM_VALUES), max_size=4)
    )


def test_generated_searches_never_fail_the_server(world: World) -> None:
    @_fuzz
    @given(data=st.data())
    def run(data: st.DataObject) -> None:
        rtype = data.draw(st.sampled_from(SUPPORTED_TYPES))
        params = data.draw(search_params(rtype))
        before = world.counts()
        response = world.call("GET", rtype, params=params)
        _checked(world, before, response, f"GET {rtype}?{urlencode(params)}")
        if response.status_code == 200:
            assert response.json()["resourceType"] == "Bundle"

    run()


RAW_IDS = st.one_of(
    st.sampled_from(
        [
            _UUID,
            "not-a-uuid",
            "x" * 300,
            "..",
            "-",
            "1",
            str(uuid.UUID(int=0)),
            "{" + _UUID + "}",
            _UUID.upper(),
            _UUID.replace("-", ""),
            "urn:uuid:" + _UUID,
            "$everything",
            "_history",
            "王",
        ]
    ),
    st.text(min_size=1, max_size=40).filter(lambda s: s.strip("/.") != "" and "\x00" not in s),
)
VIDS = st.one_of(
    st.sampled_from(["1", "2", "0", "-1", "99999999999999999999", "1.0", "²", "١", "abc", " 1"]),
    st.integers(min_value=-(2**70), max_value=2**70).map(str),
    st.text(min_size=1, max_size=10).filter(lambda s: s.strip("/.") != "" and "\x00" not in s),
)


def test_malformed_reads_and_history_never_fail_the_server(world: World) -> None:
    @_fuzz
    @given(data=st.data())
    def run(data: st.DataObject) -> None:
        rtype = data.draw(st.sampled_from(SUPPORTED_TYPES))
        stored = world.stored.get(rtype, world.patient)
        rid = data.draw(st.one_of(st.just(stored), RAW_IDS))
        tail = data.draw(
            st.sampled_from(["", "/_history", "/_history/{vid}", "/$everything", "/_history/"])
        )
        path = f"{rtype}/{_segment(rid)}" + tail.format(vid=_segment(data.draw(VIDS)))
        before = world.counts()
        response = world.call("GET", path)
        _checked(world, before, response, f"GET {path}")

    run()


HISTORY_VALUES = st.one_of(
    PARAM_VALUES,
    st.datetimes(timezones=st.timezones()).map(lambda d: d.isoformat()),
    st.sampled_from(["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-12:00", "2026-11-24T10"]),
)


def test_generated_type_and_system_history_never_fail_the_server(world: World) -> None:
    @_fuzz
    @given(data=st.data())
    def run(data: st.DataObject) -> None:
        path = data.draw(
            st.sampled_from(["_history", *(f"{rtype}/_history" for rtype in SUPPORTED_TYPES)])
        )
        names = st.sampled_from(["_since", "_count", "_offset", "_at", "_list", "_format", "x"])
        params = data.draw(st.lists(st.tuples(names, HISTORY_VALUES), max_size=3))
        before = world.counts()
        response = world.call("GET", path, params=params)
        _checked(world, before, response, f"GET {path}?{urlencode(params)}")
        if response.status_code == 200:
            assert response.json()["type"] == "history"

    run()
