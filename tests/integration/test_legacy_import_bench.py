"""``bench/legacy_import.py`` at a tiny size, so the benchmark cannot rot (its timings are only
printed; this checks what it imports)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType


def _bench_module(repo_root: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "legacy_import_bench", repo_root / "bench" / "legacy_import.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # the dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def test_the_benchmark_imports_and_reimports_a_tiny_file(repo_root: Path, tmp_path: Path) -> None:
    bench = _bench_module(repo_root)
    result = bench.bench(f"sqlite:///{tmp_path}/bench.db", 7, 20)
    counts = {run.name: run.counts for run in result["runs"]}
    assert counts["residents dry run (xlsx)"] == {"created": 7}
    assert counts["residents import (xlsx)"] == {"created": 7}
    assert counts["residents re-import"] == {"matched": 7}
    assert counts["visits dry run (GBK CSV)"] == {"added": 20}
    assert counts["visits import (GBK CSV)"] == {"added": 20}
    assert counts["visits re-import"] == {"already_imported": 20}
    assert result["stored"] == {"residents": 7, "follow_ups": 20, "station_residents": 7}
    assert result["baseline"].rows == 7
    bench.report(result)  # the printing code runs too
