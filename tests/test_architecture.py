"""The forbidden import edges of docs/DESIGN.md ("Who may import whom"), read from the source with ``ast``.

Every import counts, also one inside a function (a lazy import is still a dependency). The rules:

* judges (``trainlab.evaluation``, ``trainlab.fairness``) never import ``trainlab.models`` or ``trainlab.training``:
  they read the predictions table and nothing else of a model;
* the report (``trainlab.report``) imports only artifacts, its own modules and the shared helpers
  (``trainlab.errors``, ``trainlab.utils``), and no library that trains or scores (torch, timm, sklearn, fairlearn):
  it renders, it never trains, evaluates, compares or builds a model;
* artifacts (``trainlab.artifacts``) are the shared vocabulary: they import no stage;
* no import cycle inside the package.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"
SHARED = ("trainlab.errors", "trainlab.utils", "trainlab._version")
SCORING_LIBRARIES = ("torch", "timm", "sklearn", "fairlearn", "torchvision")


def _modules() -> dict[str, Path]:
    found = {}
    for path in sorted((SRC / "trainlab").rglob("*.py")):
        parts = path.relative_to(SRC).with_suffix("").parts
        found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


MODULES = _modules()


def imports_of(name: str, path: Path) -> set[str]:
    """Every module ``name`` imports, at any depth of its code. ``from a import b`` counts ``a.b`` when that is a
    module, and ``a`` itself only when it takes a name from ``a`` that is not a module."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    typing_only = {id(n) for block in ast.walk(tree) if isinstance(block, ast.If) and _is_type_checking(block.test)
                   for stmt in block.body for n in ast.walk(stmt)}  # `if TYPE_CHECKING:` imports never run
    for node in ast.walk(tree):
        if id(node) in typing_only:
            continue
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            submodules = [f"{module}.{alias.name}" for alias in node.names if f"{module}.{alias.name}" in MODULES]
            found.update(submodules)
            if len(submodules) < len(node.names):
                found.add(module)
    return found


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or \
        (isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


GRAPH = {name: imports_of(name, path) for name, path in MODULES.items()}


def _within(module: str, prefixes) -> bool:
    return any(module == p or module.startswith(p + ".") for p in prefixes)


def _violations(sources, forbidden=None, allowed=None) -> list[str]:
    bad = []
    for name, imported in sorted(GRAPH.items()):
        if not _within(name, sources):
            continue
        for module in sorted(imported):
            if forbidden is not None and _within(module, forbidden):
                bad.append(f"{name} imports {module}")
            if allowed is not None and _within(module, ("trainlab",)) and module != "trainlab" and not _within(module, allowed):
                bad.append(f"{name} imports {module}")
    return bad


def test_the_parser_sees_function_level_and_relative_imports(tmp_path):
    path = tmp_path / "m.py"
    path.write_text("from . import blocks\n\ndef f():\n    from trainlab.models import registry\n    import torch\n"
                    "    from trainlab import __version__\n")
    found = imports_of("trainlab.report.m", path)
    assert found == {"trainlab.report.blocks", "trainlab.models.registry", "torch", "trainlab"}


def test_judges_never_import_models_or_training():
    assert _violations(("trainlab.evaluation", "trainlab.fairness"), forbidden=("trainlab.models", "trainlab.training")) == []


def test_the_report_imports_only_artifacts_and_its_own_helpers():
    allowed = ("trainlab.report", "trainlab.artifacts", *SHARED)
    assert _violations(("trainlab.report",), allowed=allowed) == []
    assert _violations(("trainlab.report",), forbidden=SCORING_LIBRARIES) == []


def test_artifacts_import_no_stage():
    assert _violations(("trainlab.artifacts",), allowed=("trainlab.artifacts", *SHARED)) == []
    assert _violations(("trainlab.artifacts",), forbidden=SCORING_LIBRARIES) == []


def _cycles() -> set[frozenset[str]]:
    """Strongly connected components of more than one module (Tarjan), over imports inside the package."""
    graph = {n: {m for m in deps if m in MODULES and m != n} for n, deps in GRAPH.items()}
    index, low, stack, on_stack, found = {}, {}, [], set(), set()

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = set()
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.add(w)
                if w == v:
                    break
            if len(component) > 1:
                found.add(frozenset(component))

    for v in graph:
        if v not in index:
            visit(v)
    return found


def test_no_import_cycle_in_the_package():
    assert [sorted(c) for c in _cycles()] == []


def test_a_cycle_is_caught(monkeypatch):
    monkeypatch.setitem(GRAPH, "trainlab.artifacts.base", GRAPH["trainlab.artifacts.base"] | {"trainlab.artifacts.metrics"})
    assert frozenset({"trainlab.artifacts.base", "trainlab.artifacts.metrics"}) in _cycles()


@pytest.mark.parametrize("rule", ["judges", "report"])
def test_a_forbidden_edge_is_caught(rule, monkeypatch):
    """The checks are not vacuous: a planted import across each edge is reported."""
    if rule == "judges":
        monkeypatch.setitem(GRAPH, "trainlab.evaluation.metrics", GRAPH["trainlab.evaluation.metrics"] | {"trainlab.models.registry"})
        assert _violations(("trainlab.evaluation",), forbidden=("trainlab.models",)) == [
            "trainlab.evaluation.metrics imports trainlab.models.registry"]
    else:
        monkeypatch.setitem(GRAPH, "trainlab.report.collect", GRAPH["trainlab.report.collect"] | {"trainlab.evaluation.evaluate"})
        assert _violations(("trainlab.report",), allowed=("trainlab.report", "trainlab.artifacts", *SHARED)) == [
            "trainlab.report.collect imports trainlab.evaluation.evaluate"]


def print_calls(source: str) -> list[int]:
    """Line numbers of every call to the builtin ``print`` in ``source``."""
    return [node.lineno for node in ast.walk(ast.parse(source))
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "print"]


def test_only_the_command_line_prints():
    """Library modules return objects (or take a ``show`` callback); cli.py alone writes to stdout, so the
    Python API stays quiet in a notebook and the command line decides what a terminal sees."""
    found = {}
    for path in sorted((SRC / "trainlab").rglob("*.py")):
        if path.name == "cli.py" and path.parent.name == "trainlab":
            continue
        lines = print_calls(path.read_text())
        if lines:
            found[str(path.relative_to(SRC))] = lines
    assert found == {}
    assert print_calls("def f():\n    print('x')\nprint\n") == [2]  # the checker itself sees a call
