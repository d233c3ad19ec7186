"""The device package stays light: no module of `edge/` imports TensorFlow, Keras, pandas or matplotlib.

Read statically (every import statement of `edge/`, lazy ones inside functions too), and followed
into the `edge_digits` modules they use (their module-level imports: what importing them loads),
so a heavy import cannot hide one module away.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import edge_digits
from edge_digits import edge

HEAVY = {"tensorflow", "keras", "tf_keras", "pandas", "matplotlib"}
NOT_ON_DEVICE = ("edge_digits.train", "edge_digits.convert", "edge_digits.benchmarks")
EDGE_MODULES = sorted(p.stem for p in Path(edge.__file__).parent.glob("*.py"))


def _file_of(module: str) -> Path | None:
    """The source file of an edge_digits module (the package maps stage folders into it)."""
    if not module.startswith("edge_digits"):
        return None
    parts = module.split(".")[1:]
    if parts[:1] == ["edge"]:
        base, parts = Path(edge.__file__).parent, parts[1:]
    else:
        base = Path(edge_digits.__file__).parent
    path = base.joinpath(*parts)
    return path.with_suffix(".py") if path.with_suffix(".py").is_file() else path / "__init__.py"


def _imports(path: Path, package: str, lazy: bool) -> set[str]:
    """The modules `path` imports, absolute; with `lazy`, the imports inside functions too."""
    tree = ast.parse(path.read_text())
    found = set()
    for node in ast.walk(tree) if lazy else tree.body:
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                found.add(f"{base}.{node.module}" if node.module else base)
            else:
                found.add(node.module or "")
    return found


def test_every_edge_module_is_checked():
    assert {"capture", "digit_reader", "preprocess", "reader", "runtime", "serve", "stream"} <= set(EDGE_MODULES)


@pytest.mark.parametrize("name", EDGE_MODULES)
def test_edge_module_imports_nothing_heavy(name):
    seen, todo = set(), [f"edge_digits.edge.{name}"]
    while todo:
        module = todo.pop()
        path = _file_of(module)
        if module in seen or path is None or not path.is_file():
            continue
        seen.add(module)
        package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
        for imported in _imports(path, package, lazy=module.startswith("edge_digits.edge.")):
            assert imported.split(".")[0] not in HEAVY, f"{module} imports {imported}"
            assert not imported.startswith(NOT_ON_DEVICE), f"{module} imports {imported}"
            todo.append(imported)
