"""Labels of coded values (symptoms, task kinds, referral statuses, visit modes, programmes,
classifications) follow the chosen language on the worklist, the record page and the follow-up
form: English pages show no Chinese label, Chinese pages no English one."""

from __future__ import annotations

import re
from collections.abc import Iterable
from enum import Enum

import pytest
from fastapi.testclient import TestClient

from manbing.domain.followup_form import VisitMode
from manbing.domain.programmes import Programme
from manbing.domain.referrals import ReferralStatus
from manbing.domain.rules import DiabetesSymptom, FollowupClass, HypertensionSymptom
from manbing.domain.tasks import TaskKind
from manbing.web.i18n import translations
from tests.e2e.conftest import login

HTML = {"accept": "text/html"}
CJK = re.compile(r"[\u4e00-\u9fff]")

# (message id prefix, enum) for every coded value the three pages show
CODED: list[tuple[str, type[Enum]]] = [
    ("sym_htn_", HypertensionSymptom),
    ("sym_dm_", DiabetesSymptom),
    ("task_", TaskKind),
    ("referral_", ReferralStatus),
    ("mode_", VisitMode),
    ("cls_", FollowupClass),
    ("", Programme),
]


def _msgids() -> Iterable[tuple[str, Enum]]:
    for prefix, enum in CODED:
        for member in enum:
            yield f"{prefix}{member.value}", member


def _chinese_labels() -> set[str]:
    zh = translations("zh_CN")
    domain = {str(member.label_zh) for _, member in _msgids()}  # type: ignore[attr-defined]
    return domain | {zh.gettext(msgid) for msgid, _ in _msgids()}


def _english_labels() -> set[str]:
    en = translations("en")
    return {en.gettext(msgid) for msgid, _ in _msgids()}


def test_every_coded_value_has_an_english_and_a_chinese_label() -> None:
    en, zh = translations("en"), translations("zh_CN")
    for msgid, member in _msgids():
        english, chinese = en.gettext(msgid), zh.gettext(msgid)
        assert english != msgid and not CJK.search(english), (msgid, english)
        assert chinese != msgid and CJK.search(chinese), (msgid, chinese)
        if not isinstance(member, Programme):  # pages use the short 慢阻肺 for COPD
            assert chinese == member.label_zh, (msgid, chinese)  # type: ignore[attr-defined]


def _visible_text(html: str) -> str:
    """The page without what is stored data rather than a label: scripts (chart data), team
    names and the referral reasons stored with a visit (kept as written, in Chinese)."""
    html = re.sub(r"<script.*?</script>", "", html, flags=re.S)
    html = re.sub(r'<select name="team_id">.*?</select>', "", html, flags=re.S)
    return re.sub(r'<td class="error">[^<]*</td>', "", html)


def _pages(client: TestClient, language: str) -> dict[str, str]:
    """The worklist, a record page and a follow-up form of a patient with a visit, an open
    referral and an open post-referral task, in ``language``."""
    token = login(client)
    client.get(f"/lang/{language}")
    work = client.get("/api/v1/worklist").json()
    rid = next(d["resident_id"] for d in work["due"] if d["days_overdue"] > 0)
    headers = {"X-CSRF-Token": token}
    visit = client.post(
        f"/api/v1/residents/{rid}/follow-ups",
        json={"visit_date": "2026-11-24", "sbp": 185, "dbp": 95, "mode": "1",
              "symptoms": ["2"], "idempotency_key": "labels-visit-0001"},
        headers=headers,
    )  # fmt: skip
    assert visit.status_code == 201, visit.text
    hospital = client.get("/api/v1/hospitals").json()[0]["id"]
    referral = client.post(
        "/api/v1/referrals",
        json={"resident_id": rid, "to_org_id": hospital, "urgency": "urgent",
              "follow_up_id": visit.json()["id"], "to_department": "心血管内科",
              "reasons": ["收缩压≥180mmHg"]},
        headers=headers,
    )  # fmt: skip
    assert referral.status_code == 201, referral.text
    pages = {
        "worklist": client.get("/", headers=HTML),
        "record": client.get(f"/residents/{rid}", headers=HTML),
        "form": client.get(f"/residents/{rid}/follow-up", headers=HTML),
    }
    assert all(p.status_code == 200 for p in pages.values())
    return {name: _visible_text(p.text) for name, p in pages.items()}


@pytest.mark.parametrize("language", ["en", "zh_CN"])
def test_coded_values_are_labelled_in_the_chosen_language_only(
    client: TestClient, language: str
) -> None:
    pages = _pages(client, language)
    zh = translations("zh_CN")
    en = translations("en")
    wanted = {
        "worklist": ["referral_requested", "task_post_referral_follow_up", "hypertension"],
        "record": ["referral_requested", "task_post_referral_follow_up", "mode_1", "cls_2"],
        "form": [f"sym_htn_{s.value}" for s in HypertensionSymptom],
    }
    for name, msgids in wanted.items():
        for msgid in msgids:
            label = (en if language == "en" else zh).gettext(msgid)
            assert label in pages[name], (language, name, msgid, label)
    if language == "en":
        for name, text in pages.items():
            shown = sorted(label for label in _chinese_labels() if label in text)
            assert not shown, (name, shown)
    else:
        for name, text in pages.items():
            # an English label is a whole word or phrase of the page, never inside another word
            shown = sorted(
                label
                for label in _english_labels()
                if re.search(rf"(?<![\w-]){re.escape(label)}(?![\w-])", text)
            )
            assert not shown, (name, shown)
