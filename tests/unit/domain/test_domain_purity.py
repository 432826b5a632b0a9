import ast
import sys
from pathlib import Path

import manbing.domain

DOMAIN = Path(manbing.domain.__file__).parent


def test_the_domain_package_imports_only_the_standard_library_and_itself() -> None:
    offenders = []
    for path in DOMAIN.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                if top not in sys.stdlib_module_names and not name.startswith("manbing.domain"):
                    offenders.append(f"{path.name}: {name}")
    assert offenders == []


def test_domain_code_never_reads_the_clock() -> None:
    calls = ("date.today(", "datetime.now(", "datetime.today(", "time.time(", "datetime.utcnow(")
    hits = [
        f"{path.name}: {call}"
        for path in DOMAIN.rglob("*.py")
        for call in calls
        if call in path.read_text(encoding="utf-8")
    ]
    assert hits == []
