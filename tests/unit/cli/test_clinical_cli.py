import json
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from manbing.cli import clinical

runner = CliRunner()


@pytest.fixture(scope="module")
def app() -> typer.Typer:
    application = typer.Typer()
    clinical.register(application)
    return application


GUIDELINE_EXAMPLE = {
    "sex": "M", "age": 40, "sbp": 145, "bp_treated": False, "tc": 5.2, "hdl": 1.3,
    "lipid_unit": "mmol/L", "waist_cm": 80, "smoker": False, "diabetes": False, "north": True,
    "urban": True, "family_history": True,
}  # fmt: skip


def test_china_par_prints_the_guideline_example(app: typer.Typer) -> None:
    result = runner.invoke(app, ["risk", "china-par"], input=json.dumps(GUIDELINE_EXAMPLE))
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert out["risk_10y_percent"] == 4.7
    assert (out["category"], out["category_zh"]) == ("low", "低危")


def test_china_par_answers_json_lines_line_by_line(app: typer.Typer) -> None:
    woman = {**GUIDELINE_EXAMPLE, "sex": "F", "age": 52, "sbp": 145, "bp_treated": True,
             "tc": 120, "hdl": 60, "lipid_unit": "mg/dL", "waist_cm": 90, "diabetes": True,
             "urban": False, "family_history": False}  # fmt: skip
    lines = "\n".join(json.dumps(x) for x in (GUIDELINE_EXAMPLE, woman)) + "\n"
    result = runner.invoke(app, ["risk", "china-par"], input=lines)
    assert result.exit_code == 0, result.output
    outputs = [json.loads(line) for line in result.stdout.splitlines()]
    assert [o["risk_10y_percent"] for o in outputs] == [4.7, 12.5]
    assert outputs[1]["category_zh"] == "高危"


@pytest.mark.parametrize(
    ("change", "field"),
    [({"age": 90}, "age"), ({"sex": "X"}, "sex"), ({"smoker": "yes"}, "smoker"),
     ({"hdl": 9}, "hdl"), ({"lipid_unit": "g/L"}, "lipid_unit")],
)  # fmt: skip
def test_china_par_bad_input_exits_2_naming_the_field(
    app: typer.Typer, change: dict[str, object], field: str
) -> None:
    result = runner.invoke(
        app, ["risk", "china-par"], input=json.dumps({**GUIDELINE_EXAMPLE, **change})
    )
    assert result.exit_code == 2
    assert field in result.stderr
    assert result.stdout == ""


def test_a_missing_field_exits_2_naming_it(app: typer.Typer) -> None:
    data = {k: v for k, v in GUIDELINE_EXAMPLE.items() if k != "waist_cm"}
    result = runner.invoke(app, ["risk", "china-par"], input=json.dumps(data))
    assert result.exit_code == 2
    assert "waist_cm" in result.stderr


def test_bad_json_exits_2(app: typer.Typer) -> None:
    result = runner.invoke(app, ["risk", "cdrs"], input="{not json\n")
    assert result.exit_code == 2
    assert "JSON" in result.stderr


def test_a_bad_second_json_line_names_the_line_and_field(app: typer.Typer) -> None:
    good = {"sex": "M", "age": 31, "bmi": 30.5, "waist_cm": 96, "sbp": 145,
            "family_history_diabetes": False}  # fmt: skip
    lines = json.dumps(good) + "\n" + json.dumps({**good, "age": 80}) + "\n"
    result = runner.invoke(app, ["risk", "cdrs"], input=lines)
    assert result.exit_code == 2
    assert "line 2" in result.stderr and "age" in result.stderr


def test_cdrs_scores_a_reference_vector(app: typer.Typer) -> None:
    data = {"sex": "F", "age": 45, "bmi": 23.0, "waist_cm": 78, "sbp": 128,
            "family_history_diabetes": True}  # fmt: skip
    result = runner.invoke(app, ["risk", "cdrs"], input=json.dumps(data))
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {"score": 27, "high_risk": True}


def test_followup_classify_refers_an_urgent_visit(app: typer.Typer) -> None:
    visit = {"visit_date": "2024-11-30", "age": 70, "programmes": ["hypertension", "diabetes"],
             "sbp": 182, "dbp": 95, "fasting_glucose": 8.0,
             "danger_signs": ["severe_headache_or_dizziness"],
             "previous_classification": "2"}  # fmt: skip
    result = runner.invoke(app, ["followup", "classify"], input=json.dumps(visit))
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert (out["classification"], out["classification_zh"]) == ("2", "控制不满意")
    assert out["refer"] is True and out["urgent"] is True
    assert out["next_visit_date"] == "2024-12-14"
    assert out["reasons_zh"] == ["收缩压≥180mmHg", "剧烈头痛或头晕", "连续两次随访控制不满意"]
    assert out["reason_codes"][0] == "sbp_urgent"


def test_followup_classify_satisfied_returns_in_3_months(app: typer.Typer) -> None:
    visit = {"visit_date": "2023-11-30", "age": 60, "programmes": ["hypertension"],
             "sbp": 128, "dbp": 78}  # fmt: skip
    result = runner.invoke(app, ["followup", "classify"], input=json.dumps(visit))
    out = json.loads(result.stdout)
    assert (out["classification"], out["next_visit_date"], out["refer"]) == (
        "1",
        "2024-02-29",
        False,
    )


@pytest.mark.parametrize(
    ("change", "field"),
    [({"sbp": 400}, "sbp"), ({"danger_signs": ["bogus"]}, "danger_signs"),
     ({"visit_date": "2024-02-30"}, "visit_date"), ({"programmes": ["asthma"]}, "programmes")],
)  # fmt: skip
def test_followup_classify_bad_input_exits_2(
    app: typer.Typer, change: dict[str, object], field: str
) -> None:
    visit = {"visit_date": "2024-01-01", "age": 60, "programmes": ["hypertension"],
             "sbp": 128, "dbp": 78, **change}  # fmt: skip
    result = runner.invoke(app, ["followup", "classify"], input=json.dumps(visit))
    assert result.exit_code == 2
    assert field in result.stderr


BANDS = [30, 35, 40, 45, 50, 55, 60, 65]


def _population(tmp_path: Path) -> Path:
    path = tmp_path / "population.csv"
    sizes = [100000, 95000, 90000, 85000, 80000, 70000, 60000, 50000]
    rows = "\n".join(f"{b},{n}" for b, n in zip(BANDS, sizes, strict=True))
    path.write_text("age_band_start,population\n" + rows + "\n")
    return path


def test_mortality_premature_reproduces_the_worked_example_from_aggregates(
    app: typer.Typer, tmp_path: Path
) -> None:
    deaths = tmp_path / "deaths.csv"
    counts = [12, 25, 48, 90, 160, 260, 420, 650]
    rows = "\n".join(f"{b},{n}" for b, n in zip(BANDS, counts, strict=True))
    deaths.write_text("age_band_start,deaths\n" + rows + "\n")
    args = [
        "mortality",
        "premature",
        "--deaths",
        str(deaths),
        "--population",
        str(_population(tmp_path)),
    ]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert (out["probability"], out["percent"]) == (0.129315, 12.93)
    assert len(out["bands"]) == 8


def test_mortality_premature_counts_per_death_rows_by_icd10(
    app: typer.Typer, tmp_path: Path
) -> None:
    deaths = tmp_path / "deaths.csv"
    counts = [12, 25, 48, 90, 160, 260, 420, 650]
    lines = ["age,icd10"]
    for band, n in zip(BANDS, counts, strict=True):
        lines += [f"{band + 2},I21.9"] * n
    lines += ["50,A09", "75,I21", "29,C34"]  # other cause and ages outside 30-69: ignored
    deaths.write_text("\n".join(lines) + "\n")
    args = [
        "mortality",
        "premature",
        "--deaths",
        str(deaths),
        "--population",
        str(_population(tmp_path)),
    ]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["probability"] == 0.129315


def test_mortality_premature_bad_icd10_exits_2(app: typer.Typer, tmp_path: Path) -> None:
    deaths = tmp_path / "deaths.csv"
    deaths.write_text("age,icd10\n40,??\n")
    args = [
        "mortality",
        "premature",
        "--deaths",
        str(deaths),
        "--population",
        str(_population(tmp_path)),
    ]
    result = runner.invoke(app, args)
    assert result.exit_code == 2
    assert "icd10" in result.stderr


@pytest.mark.parametrize(
    ("content", "says"),
    [
        (b"age,icd10\nnan,I21.9\n", "age: not a finite number"),  # was ValueError from int()
        (b"age,icd10\n40,I21.9\ninf,I21.9\n", "line 3: age: not a finite number"),  # OverflowError
        (b"age_band_start,deaths\n30,1e400\n", "deaths: not a finite number"),
        ("age,icd10\n50,脑梗死\n".encode("gbk"), "not UTF-8"),  # was UnicodeDecodeError
        (b"age,icd10\n40,I21.9\n50," + b"I" * 200_000 + b"\n", "line 3: cannot be read"),
        (b"age,icd10\n40,I21.9\n\n50\n", "line 4: icd10: empty"),  # was AttributeError
        (b"age,icd10\n4_0,I21.9\n", "line 2: age: not a number"),  # int(float()) read 40
        ("age,icd10\n٤٠,I21.9\n".encode(), "line 2: age: not a number"),
        (b"age,icd10\n40.5,I21.9\n", "line 2: age: not a whole number"),  # was cut to 40
        (b"age_band_start,deaths\n30,1_000\n", "deaths: not a number"),
        (b"age_band_start,deaths\n30.5,10\n", "age_band_start: not a whole number"),
    ],
)
def test_mortality_premature_bad_csv_exits_2_naming_the_problem(
    app: typer.Typer, tmp_path: Path, content: bytes, says: str
) -> None:
    deaths = tmp_path / "deaths.csv"
    deaths.write_bytes(content)
    args = ["mortality", "premature", "--deaths", str(deaths)]
    result = runner.invoke(app, [*args, "--population", str(_population(tmp_path))])
    assert result.exit_code == 2, (result.exception, result.output)
    assert says in result.stderr


def test_mortality_premature_reads_full_width_digits(app: typer.Typer, tmp_path: Path) -> None:
    """A count typed in a Chinese IME's full-width mode is read, as in the census and forms."""
    plain, wide = tmp_path / "plain.csv", tmp_path / "wide.csv"
    plain.write_text("age,icd10\n40,I21.9\n55,E11.9\n")
    wide.write_text("age,icd10\n４０,I21.9\n５５,E11.9\n", encoding="utf-8")
    population = str(_population(tmp_path))
    answers = [
        runner.invoke(
            app, ["mortality", "premature", "--deaths", str(p), "--population", population]
        )
        for p in (plain, wide)
    ]
    assert [a.exit_code for a in answers] == [0, 0], answers[1].output
    assert answers[0].stdout == answers[1].stdout
