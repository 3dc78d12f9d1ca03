"""The import graph of the product: no cycle, and every arrow points down
``outreach ← probes ← letters``.

The graph is read from the source (AST), so imports inside functions and
under ``TYPE_CHECKING`` count as much as those at the top of a module: a
function-local import hides a cycle from Python, not from this test.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# Lower layers first: a module may import its own layer and the ones before it.
LAYERS = ("outreach", "probes", "letters")
OUTSIDE = ("lab", "bench")
# The admin wires every stage into one site, and the demo drives every stage
# (and the lab's simulated internet): they alone may import upwards.
UPWARD_ALLOWED = {
    "outreach.admin",
    "outreach.admin_base",
    "outreach.admin_dashboard",
    "outreach.admin_forms",
    "outreach.admin_home",
    "outreach.admin_host",
    "outreach.admin_security",
    "outreach.admin_site",
    "outreach.demo",
}
# Only the demo command's service may reach the lab (never the benchmarks).
LAB_ALLOWED = {"outreach.demo"}


def modules(root: Path, packages: tuple[str, ...]) -> dict[str, Path]:
    found = {}
    for package in packages:
        for path in sorted((root / package).rglob("*.py")):
            parts = list(path.relative_to(root).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join(parts)] = path
    return found


def _imported_names(module: str, path: Path, tree: ast.AST) -> set[str]:
    names: set[str] = set()
    is_package = path.name == "__init__.py"
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = module.split(".")
                parent = parent if is_package else parent[:-1]
                parent = parent[: len(parent) - node.level + 1]
                base = ".".join(parent + ([node.module] if node.module else []))
            names.add(base)
            names.update(f"{base}.{alias.name}" for alias in node.names)
    return names


def import_graph(root: Path, packages: tuple[str, ...]) -> dict[str, set[str]]:
    """Module → the project modules it imports (the deepest module each name names)."""
    known = modules(root, packages)
    outside = {name.split(".")[0] for name in OUTSIDE}
    graph: dict[str, set[str]] = {}
    for module, path in known.items():
        targets = set()
        for name in _imported_names(module, path, ast.parse(path.read_text(), str(path))):
            if name.split(".")[0] in outside:
                targets.add(name.split(".")[0])
                continue
            while name and name not in known:
                name = name.rpartition(".")[0]
            if name and name != module and "." in name:
                targets.add(name)
        graph[module] = targets
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in graph.get(node, ()):
            if target not in graph:
                continue
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def wrong_arrows(graph: dict[str, set[str]]) -> list[str]:
    rank = {layer: n for n, layer in enumerate(LAYERS)}
    wrong = []
    for module, targets in sorted(graph.items()):
        layer = module.split(".")[0]
        for target in sorted(targets):
            if target in OUTSIDE:
                if module not in LAB_ALLOWED or target != "lab":
                    wrong.append(f"{module} -> {target}")
            elif rank[target.split(".")[0]] > rank[layer] and module not in UPWARD_ALLOWED:
                wrong.append(f"{module} -> {target}")
    return wrong


@pytest.fixture(scope="module")
def graph() -> dict[str, set[str]]:
    return import_graph(ROOT, LAYERS)


def test_it_finds_no_import_cycle(graph):
    assert cycles(graph) == []


def test_every_import_points_down_from_letters_to_probes_to_outreach(graph):
    assert wrong_arrows(graph) == []


def test_the_named_exceptions_still_exist(graph):
    # A renamed admin module must not leave a stale exception behind.
    assert set(graph) >= UPWARD_ALLOWED


def _empty_packages(root: Path) -> None:
    for package in LAYERS:
        (root / package).mkdir()
        (root / package / "__init__.py").write_text("")


def test_it_sees_cycles_and_wrong_arrows_hidden_in_functions(tmp_path):
    _empty_packages(tmp_path)
    (tmp_path / "outreach" / "core.py").write_text(
        "def f():\n    from letters.views import page\n    return page\n"
    )
    (tmp_path / "letters" / "views.py").write_text(
        "from __future__ import annotations\nfrom letters import forms\n"
    )
    (tmp_path / "letters" / "forms.py").write_text(
        "def g():\n    from .views import page\n    import lab.smtp\n"
    )
    graph = import_graph(tmp_path, LAYERS)

    assert cycles(graph) == [["letters.forms", "letters.views"]]
    assert wrong_arrows(graph) == ["letters.forms -> lab", "outreach.core -> letters.views"]


def guarded_imports(root: Path, packages: tuple[str, ...]) -> list[str]:
    """Imports of the project's own modules inside ``try: … except ImportError``.

    Every stage ships with the project, so such a guard only hides a broken
    module: the code behind it falls back silently instead of failing.
    """
    own = (*packages, *OUTSIDE)
    found = []
    for module, path in modules(root, packages).items():
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Try) and any(_catches_import_error(h) for h in node.handlers):
                names = [n for inner in node.body for n in _modules_named(inner)]
                # A relative import ("." first) is the project's own by definition.
                found += [f"{module} -> {n}" for n in names if n.split(".")[0] in (*own, "")]
    return found


def _modules_named(node: ast.AST) -> list[str]:
    """The modules the imports under ``node`` name (a relative one with its dots)."""
    names = []
    for inner in ast.walk(node):
        if isinstance(inner, ast.Import):
            names += [alias.name for alias in inner.names]
        elif isinstance(inner, ast.ImportFrom):
            names.append("." * inner.level + (inner.module or ""))
    return names


def _catches_import_error(handler: ast.ExceptHandler) -> bool:
    caught = handler.type
    types = caught.elts if isinstance(caught, ast.Tuple) else [caught]
    return any(
        isinstance(t, ast.Name) and t.id in {"ImportError", "ModuleNotFoundError"} for t in types
    )


def test_no_import_of_the_projects_own_modules_is_guarded():
    assert guarded_imports(ROOT, LAYERS) == []


def test_it_sees_a_guarded_import_of_the_projects_own_modules(tmp_path):
    _empty_packages(tmp_path)
    (tmp_path / "letters" / "home.py").write_text(
        "def f():\n"
        "    try:\n        from probes.verdicts import X\n    except ImportError:\n        X = 1\n"
        "    try:\n        import weasyprint\n    except ImportError:\n        pass\n"
    )
    assert guarded_imports(tmp_path, LAYERS) == ["letters.home -> probes.verdicts"]
