"""Clinical rules on the command line: ``risk``, ``followup`` and ``mortality``.

JSON in on stdin (one object, or JSON Lines: one object per line, one output line each), JSON out
on stdout. Bad input prints ``error: <field>: <message>`` to stderr and exits with code 2.
"""

from __future__ import annotations

import csv
import io
import json
import sys
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any, Literal

import typer
from pydantic import BaseModel, ConfigDict, StrictBool, ValidationError

from manbing.domain.errors import InvalidInput
from manbing.domain.numbers import NotFinite, parse_decimal
from manbing.domain.rules import (
    BpTargetProfile,
    CdrsInput,
    ChinaParInput,
    ConcentrationUnit,
    DangerSign,
    FollowupClass,
    FollowupVisit,
    Programme,
    cdrs_score,
    china_par_risk,
    classify_followup,
    count_ncd_deaths,
    premature_ncd_mortality,
)
from manbing.domain.values import Sex

risk_app = typer.Typer(help="Risk scores (China-PAR, CDRS).", no_args_is_help=True)
followup_app = typer.Typer(help="Follow-up visit rules of the national service standard.")
mortality_app = typer.Typer(help="Premature NCD mortality (WHO 40q30).")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ChinaParIn(_Strict):
    sex: Literal["M", "F"]
    age: int
    sbp: float
    bp_treated: StrictBool
    tc: float
    hdl: float
    lipid_unit: Literal["mmol/L", "mg/dL"]
    waist_cm: float
    smoker: StrictBool
    diabetes: StrictBool
    north: StrictBool
    urban: StrictBool
    family_history: StrictBool


class CdrsIn(_Strict):
    sex: Literal["M", "F"]
    age: int
    bmi: float
    waist_cm: float
    sbp: float
    family_history_diabetes: StrictBool


class FollowupIn(_Strict):
    visit_date: date
    age: int
    programmes: list[Programme]
    sbp: float | None = None
    dbp: float | None = None
    fasting_glucose: float | None = None
    random_glucose: float | None = None
    heart_rate: float | None = None
    temperature_c: float | None = None
    danger_signs: list[DangerSign] = []
    adverse_reaction: StrictBool = False
    new_or_worse_complication: StrictBool = False
    previous_classification: FollowupClass | None = None
    bp_profile: BpTargetProfile = BpTargetProfile.SERVICE_STANDARD_2017


class BadInput(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def _china_par(raw: dict[str, Any]) -> dict[str, Any]:
    m = ChinaParIn.model_validate(raw)
    result = china_par_risk(
        ChinaParInput(
            sex=Sex(m.sex), age=m.age, sbp=m.sbp, bp_treated=m.bp_treated, tc=m.tc, hdl=m.hdl,
            waist_cm=m.waist_cm, smoker=m.smoker, diabetes=m.diabetes, north=m.north,
            urban=m.urban, family_history=m.family_history,
            lipid_unit=ConcentrationUnit(m.lipid_unit),
        )
    )  # fmt: skip
    return {
        "risk_10y_percent": result.percent_display,
        "risk_10y_exact": result.risk,
        "category": result.category.value,
        "category_zh": result.category.label_zh,
    }


def _cdrs(raw: dict[str, Any]) -> dict[str, Any]:
    m = CdrsIn.model_validate(raw)
    result = cdrs_score(
        CdrsInput(Sex(m.sex), m.age, m.bmi, m.waist_cm, m.sbp, m.family_history_diabetes)
    )
    return {"score": result.score, "high_risk": result.high_risk}


def _followup(raw: dict[str, Any]) -> dict[str, Any]:
    m = FollowupIn.model_validate(raw)
    decision = classify_followup(
        FollowupVisit(
            visit_date=m.visit_date, age=m.age, programmes=frozenset(m.programmes), sbp=m.sbp,
            dbp=m.dbp, fasting_glucose=m.fasting_glucose, random_glucose=m.random_glucose,
            heart_rate=m.heart_rate, temperature_c=m.temperature_c,
            danger_signs=frozenset(m.danger_signs), adverse_reaction=m.adverse_reaction,
            new_or_worse_complication=m.new_or_worse_complication,
            previous_classification=m.previous_classification, bp_profile=m.bp_profile,
        )
    )  # fmt: skip
    return {
        "classification": decision.classification.value,
        "classification_zh": decision.classification.label_zh,
        "next_visit_date": decision.next_visit_date.isoformat(),
        "refer": decision.refer,
        "urgent": decision.urgent,
        "reasons_zh": decision.reasons_zh,
        "reasons_en": decision.reasons_en,
        "reason_codes": decision.reason_codes,
    }


def _describe(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        return "; ".join(
            f"{'.'.join(str(p) for p in error['loc']) or 'input'}: {error['msg']}"
            for error in exc.errors()
        )
    if isinstance(exc, InvalidInput):
        return f"{exc.field}: {exc.message_en} / {exc.message}"
    return str(exc)


def _objects(text: str) -> list[tuple[int, Any]]:
    """One JSON value, or JSON Lines (numbered from 1)."""
    try:
        return [(1, json.loads(text))]
    except json.JSONDecodeError:
        pass
    objects = []
    for number, line in enumerate(text.splitlines(), start=1):
        if line.strip():
            try:
                objects.append((number, json.loads(line)))
            except json.JSONDecodeError as exc:
                raise BadInput(f"line {number}: input: not valid JSON ({exc.msg})") from None
    if not objects:
        raise BadInput("input: no JSON object on stdin")
    return objects


def _run(handler: Callable[[dict[str, Any]], dict[str, Any]]) -> None:
    outputs = []
    try:
        objects = _objects(sys.stdin.read())
        for number, obj in objects:
            prefix = f"line {number}: " if len(objects) > 1 else ""
            if not isinstance(obj, dict):
                raise BadInput(f"{prefix}input: expected a JSON object")
            try:
                outputs.append(handler(obj))
            except (ValidationError, InvalidInput) as exc:
                raise BadInput(prefix + _describe(exc)) from None
    except BadInput as exc:
        typer.echo(f"error: {exc.message}", err=True)
        raise typer.Exit(2) from None
    for output in outputs:
        typer.echo(json.dumps(output, ensure_ascii=False))


@risk_app.command("china-par")
def china_par_command() -> None:
    """China-PAR 10-year ASCVD risk (Circulation 2016;134:1430; 2019 Chinese CVD risk guideline).

    \b
    Input fields (JSON on stdin, or JSON Lines):
      sex "M"|"F"; age 20-85 (integer); sbp 70-200 mmHg; bp_treated true|false;
      tc (80-400 mg/dL or 2-11 mmol/L) and hdl (20-130 mg/dL or 0.5-4 mmol/L);
      lipid_unit "mmol/L"|"mg/dL"; waist_cm 50-130; smoker, diabetes, north (north of the
      Yangtze), urban, family_history (of ASCVD): true|false.
    Output: risk_10y_percent (one decimal, as the official calculator shows it), risk_10y_exact
    (fraction), category (low|medium|high) and category_zh (低危|中危|高危).
    """
    _run(_china_par)


@risk_app.command("cdrs")
def cdrs_command() -> None:
    """Chinese Diabetes Risk Score (中国2型糖尿病防治指南 2020).

    \b
    Input fields: sex "M"|"F"; age 20-74 (integer); bmi kg/m2; waist_cm; sbp mmHg;
      family_history_diabetes true|false.
    Output: score (0-51) and high_risk (score >= 25).
    """
    _run(_cdrs)


@followup_app.command("classify")
def classify_command() -> None:
    """Classify a hypertension / T2DM follow-up visit (national service standard, 3rd ed. 2017).

    \b
    Input fields: visit_date (YYYY-MM-DD); age; programmes ["hypertension", "diabetes"];
      sbp, dbp (mmHg; required for hypertension); fasting_glucose (mmol/L; required for
      diabetes); optional random_glucose, heart_rate, temperature_c; danger_signs (list of
      codes, e.g. "altered_consciousness", "severe_headache_or_dizziness", "acetone_breath",
      "other_unmanageable"); adverse_reaction, new_or_worse_complication true|false;
      previous_classification "1".."4" or null; bp_profile "service_standard_2017" |
      "primary_care_2025".
    Output: classification ("1".."4") and classification_zh, next_visit_date, refer, urgent,
      reasons_zh, reasons_en, reason_codes.
    """
    _run(_followup)


def _csv(path: Path) -> tuple[set[str], list[tuple[int, dict[str, str | None]]]]:
    """Header and rows (with the file's own line numbers) of a UTF-8 CSV file."""
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise BadInput(
            f"{path.name}: not UTF-8 text (byte {exc.start}; GBK?): save it as CSV UTF-8"
            f" / 文件不是UTF-8编码（可能是GBK），请另存为“CSV UTF-8”"
        ) from None
    reader = csv.DictReader(io.StringIO(text, newline=""))
    try:
        header = {name.strip() for name in reader.fieldnames or []}
        reader.fieldnames = [name.strip() for name in reader.fieldnames or []]
        rows = [(reader.line_num, row) for row in reader]
    except csv.Error as exc:  # a cell over the csv module's field size limit (128 KiB)
        raise BadInput(
            f"{path.name} line {reader.reader.line_num}: cannot be read ({exc})"
            f" / 第{reader.reader.line_num}行无法读取"
        ) from None
    return header, rows


def _read_csv(path: Path, columns: set[str]) -> list[tuple[int, dict[str, str | None]]]:
    header, rows = _csv(path)
    missing = columns - header
    if missing:
        raise BadInput(f"{path.name}: missing column(s) {', '.join(sorted(missing))}")
    return rows


def _number(row: dict[str, str | None], column: str, line: int, name: str) -> float:
    text = row.get(column)
    if text is None or not text.strip():
        raise BadInput(f"{name} line {line}: {column}: empty / 第{line}行 {column} 为空")
    try:  # full-width digits are read; "1_000", other scripts' digits are not (domain.numbers)
        return parse_decimal(text)
    except NotFinite:  # nan and inf, which count nothing and break int()
        raise BadInput(
            f"{name} line {line}: {column}: not a finite number ({text!r})"
            f" / 第{line}行 {column} 不是有效数字"
        ) from None
    except ValueError:
        raise BadInput(
            f"{name} line {line}: {column}: not a number ({text!r}) / 第{line}行 {column} 不是数字"
        ) from None


def _whole(row: dict[str, str | None], column: str, line: int, name: str) -> int:
    """An age: a whole number (``30.7`` was cut to 30)."""
    value = _number(row, column, line, name)
    if not value.is_integer():
        raise BadInput(
            f"{name} line {line}: {column}: not a whole number ({value:g})"
            f" / 第{line}行 {column} 应为整数"
        )
    return int(value)


def _by_band(
    rows: list[tuple[int, dict[str, str | None]]], column: str, name: str
) -> dict[int, float]:
    by_band: dict[int, float] = {}
    for line, row in rows:
        by_band[_whole(row, "age_band_start", line, name)] = _number(row, column, line, name)
    return by_band


def _death_records(rows: list[tuple[int, dict[str, str | None]]]) -> list[tuple[int, str]]:
    records = []
    for line, row in rows:
        icd10 = (row.get("icd10") or "").strip()
        if not icd10:
            raise BadInput(f"deaths line {line}: icd10: empty / 第{line}行 icd10 为空")
        records.append((_whole(row, "age", line, "deaths"), icd10))
    return records


@mortality_app.command("premature")
def premature_command(
    deaths: Path = typer.Option(..., exists=True, dir_okay=False, help="deaths CSV"),
    population: Path = typer.Option(..., exists=True, dir_okay=False, help="population CSV"),
) -> None:
    """WHO probability of dying between 30 and 70 from CVD, cancer, diabetes, chronic respiratory.

    \b
    --deaths CSV, either one row per death with columns
        age (integer years at death), icd10 (underlying cause, e.g. I21.9)
      - rows outside 30-69 or outside I00-I99, C00-C97, E10-E14, J30-J98 are ignored - or
      pre-aggregated four-cause deaths with columns age_band_start (30, 35, ... 65), deaths.
    --population CSV with columns age_band_start, population (mid-year, e.g. 30,100000).
    Numbers: ASCII or full-width digits (３０ is read as 30); ages are whole numbers;
    1_000, 1,000 unquoted, nan and inf are refused naming the line.
    Output: probability, percent and the per-band table (deaths, population, rate, q).
    """
    try:
        pop_rows = _read_csv(population, {"age_band_start", "population"})
        pop = _by_band(pop_rows, "population", "population")
        header, _ = _csv(deaths)
        if {"age_band_start", "deaths"} <= header:
            rows = _read_csv(deaths, {"age_band_start", "deaths"})
            by_band = _by_band(rows, "deaths", "deaths")
        else:
            records = _death_records(_read_csv(deaths, {"age", "icd10"}))
            by_band = {band: float(n) for band, n in count_ncd_deaths(records).items()}
        result = premature_ncd_mortality(by_band, pop)
    except InvalidInput as exc:
        typer.echo(f"error: {_describe(exc)}", err=True)
        raise typer.Exit(2) from None
    except BadInput as exc:
        typer.echo(f"error: {exc.message}", err=True)
        raise typer.Exit(2) from None
    output = {
        "probability": round(result.probability, 6),
        "percent": round(result.percent, 2),
        "bands": [
            {"age_band_start": b.age_band_start, "deaths": b.deaths, "population": b.population,
             "rate": b.rate, "q": round(b.probability, 6)}
            for b in result.bands
        ],
    }  # fmt: skip
    typer.echo(json.dumps(output, ensure_ascii=False))


def register(app: typer.Typer) -> None:
    """Attach ``risk``, ``followup`` and ``mortality`` to the main ``manbing`` app."""
    app.add_typer(risk_app, name="risk")
    app.add_typer(followup_app, name="followup")
    app.add_typer(mortality_app, name="mortality")
