"""The tree shows the architecture (DESIGN.md section 8): the pure core touches no AWS, no clock
and no environment; every AWS call lives in ``core/aws/``; ``src/`` has no import cycle.

The checks read the source with ``ast`` (every import counts, including the ones inside
functions and under ``TYPE_CHECKING``), so a lazy import cannot hide a cycle or a boto3 call.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"
PACKAGES = ("core", "handlers", "sagescale")

# what the pure core may not import or call: AWS SDKs, the clock, the environment, the network
FORBIDDEN_IMPORTS = (
    "boto3",
    "botocore",
    "mypy_boto3",
    "core.aws",
    "socket",
    "urllib",
    "http",
    "requests",
)
FORBIDDEN_CALLS = {
    ("datetime", "now"),
    ("datetime", "utcnow"),
    ("datetime", "today"),
    ("date", "today"),
    ("time", "time"),
    ("time", "monotonic"),
    ("time", "sleep"),
    ("os", "getenv"),
}
FORBIDDEN_ATTRIBUTES = {("os", "environ")}


def module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def modules(root: Path) -> dict[str, Path]:
    found: dict[str, Path] = {}
    for package in PACKAGES:
        for path in sorted((root / package).rglob("*.py")) if (root / package).is_dir() else []:
            found[module_name(path, root)] = path
    return found


def imported(tree: ast.AST, name: str, is_package: bool) -> list[tuple[str, list[str]]]:
    """Every ``(module, [names])`` a module imports, relative imports resolved."""
    out: list[tuple[str, list[str]]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.extend((alias.name, []) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = name.split(".") if is_package else name.split(".")[:-1]
                base = base[: len(base) - (node.level - 1)]
                target = ".".join([*base, node.module] if node.module else base)
            else:
                target = node.module or ""
            out.append((target, [alias.name for alias in node.names]))
    return out


def import_graph(root: Path) -> dict[str, set[str]]:
    """Module -> the project modules it imports (``from pkg import sub`` counts as ``pkg.sub``)."""
    mods = modules(root)
    graph: dict[str, set[str]] = {m: set() for m in mods}
    for mod, path in mods.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for target, names in imported(tree, mod, path.name == "__init__.py"):
            subs = [f"{target}.{n}" for n in names if f"{target}.{n}" in mods]
            if subs:
                graph[mod].update(subs)
            elif target in mods:
                graph[mod].add(target)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module, or a module importing itself (Tarjan)."""
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


def impurities(root: Path) -> list[str]:
    """What modules of the pure core (``core`` outside ``core.aws``) import or call that they may not."""
    problems: list[str] = []
    for mod, path in modules(root).items():
        if (
            not (mod == "core" or mod.startswith("core."))
            or mod == "core.aws"
            or mod.startswith("core.aws.")
        ):
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for target, _ in imported(tree, mod, path.name == "__init__.py"):
            if any(target == f or target.startswith(f + ".") for f in FORBIDDEN_IMPORTS):
                problems.append(f"{mod} imports {target}")
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
                pair = (node.value.id, node.attr)
                if pair in FORBIDDEN_ATTRIBUTES or pair in FORBIDDEN_CALLS:
                    problems.append(f"{mod} line {node.lineno} uses {node.value.id}.{node.attr}")
    return problems


def test_the_pure_core_touches_no_aws_clock_environment_or_network() -> None:
    assert impurities(SRC) == []


def test_src_has_no_import_cycle() -> None:
    graph = import_graph(SRC)
    assert len(graph) > 40  # the whole tree was read
    assert cycles(graph) == []


def test_every_aws_module_lives_under_core_aws() -> None:
    """boto3/botocore appear in core only under core/aws/ (handlers and the CLI may use them too)."""
    outside = [m for m in modules(SRC) if m.startswith("core.") and not m.startswith("core.aws")]
    assert outside, "the pure core is empty?"
    assert impurities(SRC) == []  # the same rule, asserted from the module list
    aws = [m for m in modules(SRC) if m.startswith("core.aws.")]
    for mod in ("scaling", "state", "snapshot", "fleet", "wake", "parking", "clients", "paging"):
        assert f"core.aws.{mod}" in aws


def _tree(tmp_path: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        path = tmp_path / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return tmp_path


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("import boto3\n", "core.bad imports boto3"),
        (
            "def f():\n    from botocore.exceptions import ClientError\n",
            "core.bad imports botocore.exceptions",
        ),
        ("from core.aws.state import StateStore\n", "core.bad imports core.aws.state"),
        ("import os\nX = os.environ['A']\n", "core.bad line 2 uses os.environ"),
        (
            "from datetime import datetime\nNOW = datetime.now()\n",
            "core.bad line 2 uses datetime.now",
        ),
        ("import time\nT = time.time()\n", "core.bad line 2 uses time.time"),
    ],
)
def test_the_purity_check_catches_each_kind_of_violation(
    tmp_path: Path, text: str, problem: str
) -> None:
    root = _tree(
        tmp_path,
        {
            "core/__init__.py": "",
            "core/bad.py": text,
            "core/aws/__init__.py": "",
            "core/aws/ok.py": "import boto3\n",
        },
    )
    assert impurities(root) == [problem]


def test_the_cycle_check_finds_lazy_and_relative_cycles(tmp_path: Path) -> None:
    root = _tree(
        tmp_path,
        {
            "sagescale/__init__.py": "",
            "sagescale/cli.py": "def main():\n    from sagescale import ops\n",
            "sagescale/ops.py": "from sagescale.cli import main\n",
            "sagescale/emulator/__init__.py": "from .control import c\n",
            "sagescale/emulator/control.py": "def f():\n    from .ext import g\n",
            "sagescale/emulator/ext.py": "from .control import c\n",
            "sagescale/fine.py": "from sagescale.cli import main\n",
        },
    )
    assert cycles(import_graph(root)) == [
        ["sagescale.cli", "sagescale.ops"],
        ["sagescale.emulator.control", "sagescale.emulator.ext"],
    ]
