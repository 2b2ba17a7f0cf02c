"""Which of the toolkit's source files a stage's results depend on, for the stage's cache key.

Read from the import statements rather than from ``sys.modules``: what a process happens to have loaded before
(the pipeline imports training first) must not change a key, or an unchanged stage would rerun.
"""
from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = "kaggle_kit"
ROOT = Path(__file__).resolve().parent


def _source(module: str) -> Path | None:
    """The file of a ``kaggle_kit`` module or package; None for a name that is not one (an imported function)."""
    parts = module.split(".")[1:]
    base = ROOT.joinpath(*parts)
    for path in (base.with_suffix(".py"), base / "__init__.py"):
        if path.is_file():
            return path
    return None


def _imported(path: Path, module: str) -> set[str]:
    """Every ``kaggle_kit`` name the file imports, function-level imports included, relative ones resolved."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join([*anchor, *([base] if base else [])])
            names |= {base, *(f"{base}.{a.name}" for a in node.names)}
    return {n for n in names if n == PACKAGE or n.startswith(PACKAGE + ".")}


def source_closure(module: str) -> list[Path]:
    """The source files of ``module`` and of every toolkit module it imports, transitively, sorted."""
    seen: dict[str, Path] = {}
    todo = [module]
    while todo:
        name = todo.pop()
        path = _source(name)
        if name in seen or path is None:
            continue
        seen[name] = path
        parents = [".".join(name.split(".")[:i]) for i in range(1, name.count(".") + 1)]  # their __init__ runs too
        todo += [*parents, *_imported(path, name)]
    return sorted(set(seen.values()))
