"""The house keeps its layers: the domain imports no edge, and nothing imports the composition root.

Read from the source with ``ast`` (nothing is imported), so a violation fails here
before it can hide behind a lazy import inside a function.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

# What each package may not import, by top-level module name.
FORBIDDEN = {
    "domain": {"litestar", "jinja2", "stripe", "mollie", "twilio", "uvicorn", "httpx", "redis", "adapters", "api",
               "portal", "settle"},
    "adapters": {"api", "portal", "settle"},
    "api": {"settle"},
    "portal": {"settle"},
}


def imported_modules(path: Path) -> list[tuple[int, str]]:
    """Every module a file imports, with its line, including imports inside functions."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.lineno, node.module))
    return found


def violations(package: str) -> list[str]:
    banned = FORBIDDEN[package]
    out = []
    for path in sorted((ROOT / package).rglob("*.py")):
        for line, module in imported_modules(path):
            if module.split(".")[0] in banned:
                out.append(f"{path.relative_to(ROOT)}:{line} imports {module}")
    return out


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_package_imports_only_what_its_layer_allows(package: str) -> None:
    assert violations(package) == []


def test_the_check_sees_a_forbidden_import(tmp_path: Path) -> None:
    """The walk finds imports nested in functions, so the test above can fail."""
    sample = tmp_path / "sample.py"
    sample.write_text("def f():\n    from litestar import Litestar\n    import jinja2.ext\n", encoding="utf-8")
    assert imported_modules(sample) == [(2, "litestar"), (3, "jinja2.ext")]


def test_settle_holds_only_the_composition_root() -> None:
    modules = {p.stem for p in (ROOT / "settle").glob("*.py")} - {"__init__"}
    assert modules <= {"app", "cli", "demo", "scheduler"}, modules
