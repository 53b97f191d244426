"""The package's shape: imports run one way, down the layers of docs/architecture.md, in no circle.

Every ``import`` in ``aleph_otio`` is read with :mod:`ast`, at module level and inside functions
alike (a lazy import still runs, so it may neither climb a layer nor close a circle), and the
import graph is checked: nothing below the CLI imports ``aleph_otio.cli``; no room imports one of
a higher layer; Tarjan's algorithm finds no strongly connected component. Importing a submodule
also runs its parent packages' ``__init__``, so that counts as an import of them too. A room is
the first name under ``aleph_otio`` (``ledger`` for ``aleph_otio/ledger/queries.py``), so
packages that replace modules keep their place; a new room must be given a layer here.
"""

from __future__ import annotations

import ast
import subprocess
import sys
import textwrap
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = "aleph_otio"

#: Layer of each room, top first (docs/architecture.md). A room imports only rooms of a lower
#: layer, or of its own layer when that is the steps or the base (never a circle).
LAYERS: dict[str, int] = {
    # the shells: command line (``__main__`` runs it), Resolve, the package's public surface
    "cli": 4,
    "__main__": 4,
    "resolve": 4,
    "": 4,  # aleph_otio/__init__.py: re-exports the scripting API lazily
    # the public Python API
    "scripting": 3,
    # the one place that chains the steps
    "pipeline": 2,
    # the steps, and the tools beside them
    "timeline": 1,
    "locate": 1,
    "plan": 1,
    "batch": 1,
    "media": 1,
    "api": 1,
    "ledger": 1,
    "relink": 1,
    "exports": 1,
    "cost": 1,
    "report": 1,
    "emulator": 1,
    "rehearsal": 1,
    "sample": 1,
    "synth": 1,
    # the base everyone may use
    "shots": 0,
    "config": 0,
    "errors": 0,
    "files": 0,
    "naming": 0,
    "revisions": 1,
}
#: Layers whose rooms may import each other (the acyclicity check still applies).
SHARED_LAYERS = {0, 1}
#: Rooms nothing else may import, whatever its layer.
SHELLS = {"cli", "__main__", "resolve", ""}
#: The one import between shells: ``python -m aleph_otio`` runs the command line.
SHELL_ENTRY = ("__main__", "cli")


@dataclass(frozen=True)
class Import:
    importer: str
    imported: str
    line: int
    lazy: bool  # inside a function


def module_names(root: Path, package: str) -> dict[str, Path]:
    """Dotted name -> file, for every module of ``package`` under ``root``."""
    found: dict[str, Path] = {}
    for path in sorted((root / package).rglob("*.py")):
        parts = list(path.relative_to(root).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


def _known(name: str, modules: Mapping[str, Path]) -> str | None:
    """The longest prefix of ``name`` that is one of our modules."""
    while name and name not in modules:
        name = name.rpartition(".")[0]
    return name or None


def imports_of(
    name: str, path: Path, modules: Mapping[str, Path], package: str = PACKAGE
) -> list[Import]:
    """Every import of one of ``modules`` that module ``name`` makes, lazy ones included."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    in_function: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
            in_function.update(id(inner) for inner in ast.walk(node) if inner is not node)
    own_package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: list[Import] = []
    for node in ast.walk(tree):
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = own_package.split(".")[: len(own_package.split(".")) - node.level + 1]
                module = ".".join([*base, node.module] if node.module else base)
            else:
                module = node.module or ""
            # ``from pkg import sub`` imports the submodule; ``from mod import name`` the module.
            targets = [
                f"{module}.{alias.name}" if f"{module}.{alias.name}" in modules else module
                for alias in node.names
            ]
        for target in targets:
            if target != package and not target.startswith(package + "."):
                continue
            hit = _known(target, modules)
            if hit is None:
                continue
            # Importing a.b.c runs a/__init__ and a/b/__init__ first, unless we are inside them.
            chain = hit.split(".")
            for depth in range(2, len(chain) + 1):
                imported = ".".join(chain[:depth])
                if imported == name or name.startswith(imported + "."):
                    continue
                found.append(Import(name, imported, node.lineno, id(node) in in_function))
    return found


def import_graph(root: Path = ROOT, package: str = PACKAGE) -> list[Import]:
    modules = module_names(root, package)
    return [imp for name, path in modules.items() for imp in imports_of(name, path, modules)]


def room(module: str, package: str = PACKAGE) -> str:
    """``ledger`` for ``aleph_otio.ledger.queries``; ``""`` for the package itself."""
    rest = module[len(package) + 1 :] if module != package else ""
    return rest.split(".")[0]


def cycles(edges: Iterable[tuple[str, str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan), or self-imports."""
    graph: dict[str, set[str]] = {}
    for a, b in edges:
        graph.setdefault(a, set()).add(b)
        graph.setdefault(b, set())
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1 or v in graph[v]:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def violations(
    graph: Iterable[Import], layers: Mapping[str, int] = LAYERS, package: str = PACKAGE
) -> list[str]:
    """One line per import that climbs a layer or reaches into a shell."""
    bad: list[str] = []
    for imp in graph:
        a, b = room(imp.importer, package), room(imp.imported, package)
        if a == b or (a, b) == SHELL_ENTRY:
            continue
        where = f"{imp.importer}:{imp.line} imports {imp.imported}" + (
            " (in a function)" if imp.lazy else ""
        )
        if a not in layers or b not in layers:
            unknown = a if a not in layers else b
            bad.append(f"{where}: room {unknown!r} has no layer; add it to LAYERS")
        elif b in SHELLS:
            bad.append(f"{where}: {b or package!r} is a shell, nothing imports it")
        elif layers[b] > layers[a] or (layers[b] == layers[a] and layers[a] not in SHARED_LAYERS):
            bad.append(f"{where}: layer {layers[a]} may not import layer {layers[b]}")
    return bad


# --- the package ---------------------------------------------------------------------------------


def test_every_room_has_a_layer() -> None:
    rooms = {room(name) for name in module_names(ROOT, PACKAGE)}
    assert rooms - set(LAYERS) == set(), "new rooms: give them a layer in LAYERS"


def test_the_library_never_imports_the_command_line() -> None:
    graph = import_graph()
    assert graph, "no imports found: the walker is broken"
    climbing = [
        f"{imp.importer}:{imp.line} imports {imp.imported}"
        for imp in graph
        if room(imp.imported) == "cli" and room(imp.importer) not in ("cli", "__main__")
    ]
    assert climbing == []


def test_imports_run_down_the_layers() -> None:
    assert violations(import_graph()) == []


def test_no_import_circles() -> None:
    assert cycles((imp.importer, imp.imported) for imp in import_graph()) == []


def test_the_public_api_and_resolve_load_without_the_command_line() -> None:
    """A script or Resolve's console importing the library must not pull in typer or rich."""
    code = (
        "import sys, aleph_otio.scripting, aleph_otio.resolve, aleph_otio.pipeline\n"
        "shell = sorted(m for m in sys.modules if m.split('.')[0] in ('typer', 'rich', 'click')"
        " or m.startswith('aleph_otio.cli'))\n"
        "print(shell)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


# --- the checker itself, on a small package written here ------------------------------------------


def _write(root: Path, files: Mapping[str, str]) -> None:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text), encoding="utf-8")


@pytest.fixture
def toy(tmp_path: Path) -> Path:
    """A package with a lazy circle through the CLI, like the one scripting once had."""
    _write(
        tmp_path,
        {
            "aleph_otio/__init__.py": "",
            "aleph_otio/errors.py": "",
            "aleph_otio/cli/__init__.py": "",
            "aleph_otio/cli/run.py": "from aleph_otio.scripting import go\n",
            "aleph_otio/scripting.py": """\
                from aleph_otio import errors

                def go():
                    from aleph_otio.cli.run import default_work_dir
                """,
            "aleph_otio/ledger/__init__.py": "from aleph_otio.ledger.queries import q\n",
            "aleph_otio/ledger/queries.py": "from .schema import s\n",
            "aleph_otio/ledger/schema.py": "import aleph_otio.errors\n",
        },
    )
    return tmp_path


def test_checker_sees_lazy_imports_and_the_circle(toy: Path) -> None:
    graph = import_graph(toy)
    lazy = [imp for imp in graph if imp.lazy]
    assert [(i.importer, i.imported) for i in lazy] == [
        ("aleph_otio.scripting", "aleph_otio.cli"),
        ("aleph_otio.scripting", "aleph_otio.cli.run"),
    ]
    assert cycles((i.importer, i.imported) for i in graph) == [
        ["aleph_otio.cli.run", "aleph_otio.scripting"]
    ]
    assert violations(graph) == [
        "aleph_otio.scripting:4 imports aleph_otio.cli (in a function): 'cli' is a shell, "
        "nothing imports it",
        "aleph_otio.scripting:4 imports aleph_otio.cli.run (in a function): 'cli' is a shell, "
        "nothing imports it",
    ]


def test_checker_reads_packages_and_relative_imports(toy: Path) -> None:
    edges = {(i.importer, i.imported) for i in import_graph(toy)}
    assert ("aleph_otio.ledger.queries", "aleph_otio.ledger.schema") in edges
    assert ("aleph_otio.ledger.schema", "aleph_otio.errors") in edges
    # Inside its own package, a submodule does not import the package's __init__ again.
    assert ("aleph_otio.ledger.queries", "aleph_otio.ledger") not in edges


def test_checker_refuses_a_lower_layer_importing_a_higher_one(tmp_path: Path) -> None:
    _write(
        tmp_path,
        {
            "aleph_otio/__init__.py": "",
            "aleph_otio/pipeline.py": "",
            "aleph_otio/relink.py": "import aleph_otio.pipeline\n",
            "aleph_otio/newroom.py": "",
            "aleph_otio/config.py": "from aleph_otio import newroom\n",
        },
    )
    assert violations(import_graph(tmp_path)) == [
        "aleph_otio.config:1 imports aleph_otio.newroom: room 'newroom' has no layer; "
        "add it to LAYERS",
        "aleph_otio.relink:1 imports aleph_otio.pipeline: layer 1 may not import layer 2",
    ]
