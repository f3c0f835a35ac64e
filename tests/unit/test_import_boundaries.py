"""Each stage ships exactly its own logic, and the runtime package imports nothing above it.

Read from the source with ``ast`` (every ``import``, ``from … import``, relative import, and
``importlib.import_module``/``__import__`` call whose name is a literal or an f-string's literal
head), so an import inside a function or behind ``TYPE_CHECKING`` counts as much as one at the
top of a module.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FUNCTIONS = ROOT / "functions"
RUNTIME = ROOT / "shared" / "healer"
CLASSIFIER = ROOT / "shared" / "healer_classifier"
STAGES = sorted(p.name for p in FUNCTIONS.iterdir() if (p / "main.py").is_file())


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[0] == "shared":
        parts = parts[1:]
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _literal_head(node: ast.expr) -> str | None:
    """The module a dynamic import names: a string literal, or an f-string's literal start."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr) and node.values:
        first = node.values[0]
        if isinstance(first, ast.Constant) and isinstance(first.value, str):
            return first.value.rstrip(".")
    return None


def _is_dynamic_import(call: ast.Call) -> bool:
    func = call.func
    if isinstance(func, ast.Attribute) and func.attr == "import_module":
        return True
    return isinstance(func, ast.Name) and func.id in {"import_module", "__import__"}


def imports_of(source: str, module: str, *, is_package: bool = False) -> Iterator[str]:
    """Every module name the source imports, relative imports resolved against ``module``."""
    package = module if is_package else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                name = ".".join([*base, node.module] if node.module else base)
            else:
                name = node.module or ""
            yield name
            yield from (f"{name}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Call) and _is_dynamic_import(node) and node.args:
            head = _literal_head(node.args[0])
            if head:
                yield head


def imports_in(path: Path) -> set[str]:
    return set(
        imports_of(
            path.read_text(encoding="utf-8"),
            module_name(path),
            is_package=path.name == "__init__.py",
        )
    )


def _top(name: str, depth: int) -> str:
    return ".".join(name.split(".")[:depth])


def stage_crossings() -> set[tuple[str, str]]:
    """(importing module, imported stage module) for every import of another stage."""
    found: set[tuple[str, str]] = set()
    for stage in STAGES:
        for path in sorted((FUNCTIONS / stage).rglob("*.py")):
            for name in imports_in(path):
                if name == "functions" or (
                    name.startswith("functions.") and _top(name, 2) != f"functions.{stage}"
                ):
                    found.add((module_name(path), name))
    return found


def test_every_stage_is_found() -> None:
    assert set(STAGES) >= {
        "ingest",
        "classify",
        "gather",
        "spawn",
        "completion_check",
        "escalate",
        "status",
    }


def test_no_stage_imports_another_stage() -> None:
    crossings = sorted(stage_crossings())
    assert crossings == [], "a stage imports another stage; move what both need to shared/"


def test_the_runtime_package_imports_neither_the_functions_nor_the_dev_tools() -> None:
    upward = sorted(
        (module_name(path), name)
        for path in sorted(RUNTIME.rglob("*.py"))
        for name in imports_in(path)
        if _top(name, 1) in {"functions", "healer_dev", "healer_classifier"}
    )
    assert upward == []


def test_the_classifier_imports_only_the_runtime_package_of_the_project() -> None:
    upward = sorted(
        (module_name(path), name)
        for path in sorted(CLASSIFIER.rglob("*.py"))
        for name in imports_in(path)
        if _top(name, 1) in {"functions", "healer_dev"}
    )
    assert upward == []


def test_the_runtime_package_holds_no_dev_tools() -> None:
    assert not (RUNTIME / "cli.py").exists()
    assert not (RUNTIME / "broker").exists()


@pytest.mark.parametrize(
    ("source", "module", "expected"),
    [
        ("import functions.spawn.limits", "functions.gather.x", "functions.spawn.limits"),
        ("from functions.spawn import limits", "functions.gather.x", "functions.spawn.limits"),
        ("from ...spawn import limits", "functions.gather.sub.x", "functions.spawn.limits"),
        ("from ..spawn.limits import X", "functions.gather.x", "functions.spawn.limits.X"),
        ("def f():\n    import healer_dev.cli\n", "healer.x", "healer_dev.cli"),
        (
            "import importlib\nimportlib.import_module('functions.status.tasks')",
            "healer.cli",
            "functions.status.tasks",
        ),
        (
            "from importlib import import_module\nimport_module(f'functions.{p}.main')",
            "h.x",
            "functions",
        ),
        ("__import__('functions.ingest.emit')", "functions.gather.x", "functions.ingest.emit"),
        (
            "if TYPE_CHECKING:\n    from functions.spawn import a\n",
            "functions.gather.x",
            "functions.spawn.a",
        ),
    ],
)
def test_every_form_of_import_is_seen(source: str, module: str, expected: str) -> None:
    assert expected in set(imports_of(source, module))
