"""The emulator package's layout: no import cycles, and a small public surface."""

from __future__ import annotations

import ast
from pathlib import Path

import sagescale.emulator as emulator_package

PACKAGE_DIR = Path(emulator_package.__file__).parent
PACKAGE = "sagescale.emulator"


def import_graph(package_dir: Path, package: str) -> dict[str, set[str]]:
    """Module → the modules of the same package it imports, anywhere in its body.

    Imports inside functions and ``TYPE_CHECKING`` blocks count too: a lazy import
    hides a cycle from Python, not from a reader.
    """
    modules = {
        package if path.stem == "__init__" else f"{package}.{path.stem}": path
        for path in package_dir.glob("*.py")
    }
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        edges: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom):
                if node.level == 1:
                    target = f"{package}.{node.module}" if node.module else package
                elif node.level == 0 and node.module:
                    target = node.module
                else:
                    continue
                for alias in node.names:
                    submodule = f"{target}.{alias.name}"
                    edges.add(submodule if submodule in modules else target)
            elif isinstance(node, ast.Import):
                edges.update(alias.name for alias in node.names)
        graph[name] = {edge for edge in edges if edge in modules and edge != name}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Every elementary cycle, each listed once from its smallest module."""
    found: list[list[str]] = []

    def walk(start: str, node: str, path: list[str]) -> None:
        for successor in sorted(graph[node]):
            if successor == start:
                found.append(path)
            elif successor > start and successor not in path:
                walk(start, successor, [*path, successor])

    for module in sorted(graph):
        walk(module, module, [module])
    return found


def test_the_cycle_finder_finds_cycles() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert cycles(graph) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_the_emulator_package_has_no_import_cycles() -> None:
    """control.py imported fail_inference_component, settle_all and friends from
    sagemaker_ext.py lazily, and sagemaker_ext.py imported control; the package
    __init__ and server.py imported each other the same way."""
    graph = import_graph(PACKAGE_DIR, PACKAGE)
    assert f"{PACKAGE}.sagemaker_ext" in graph and f"{PACKAGE}.control" in graph
    assert cycles(graph) == []
    assert graph[f"{PACKAGE}.control"] == set()  # the control surface depends on nothing


def test_the_public_surface() -> None:
    """``mock`` is the in-process context manager's public name; ``emulated_aws`` stays."""
    from sagescale import emulator

    assert emulator.mock is emulator.emulated_aws
    for name in ("start_server", "mock", "emulated_aws", "RemoteControl", "ManualClock"):
        assert name in emulator.__all__
        assert getattr(emulator, name) is not None
    assert not [name for name in emulator.__all__ if not hasattr(emulator, name)]
    doc = emulator.__doc__ or ""
    for topic in ("What it adds to moto", "In-process", "Over HTTP", "RemoteControl", "mock("):
        assert topic in doc
