"""The package's layout as the README describes it: subpackages that talk to each other
only through the public names their ``__init__`` exports (the layering itself is checked
by import-linter in ``make lint``)."""

from __future__ import annotations

import ast
import importlib
import re
from pathlib import Path

from .conftest import ROOT

PACKAGE = ROOT / "qa_service"
SUBPACKAGES = ("corpus", "models", "feedback", "index", "answering", "web")


def modules() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if "static" not in p.parts)


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path) -> list[tuple[str, list[str]]]:
    """(absolute module, imported names) of every ``from … import …`` in a module."""
    package = module_name(path) if path.name == "__init__.py" else module_name(path).rpartition(".")[0]
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            found.append((target, [alias.name for alias in node.names]))
    return found


def owner(module: str) -> str:
    """The subpackage (or top-level module) a module belongs to: qa_service.index.build -> index."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def test_subpackages_are_reached_only_through_their_public_names() -> None:
    offences = []
    for path in modules():
        here = owner(module_name(path))
        for target, names in imports_of(path):
            if not target.startswith("qa_service") or owner(target) in ("", here):
                continue
            if owner(target) not in SUBPACKAGES:
                continue  # config: a top-level module with public names only
            exported = set(importlib.import_module(f"qa_service.{owner(target)}").__all__)
            for name in names:
                if target != f"qa_service.{owner(target)}" or name not in exported:
                    offences.append(f"{module_name(path)}: from {target} import {name}")
    assert offences == []


def test_no_module_imports_another_modules_private_names() -> None:
    offences = [f"{module_name(path)}: from {target} import {name}"
                for path in modules() for target, names in imports_of(path)
                if target.startswith("qa_service") for name in names
                if name.startswith("_") and name != "__version__"]
    assert offences == []


def test_every_subpackage_says_what_it_is_for_and_exports_what_exists() -> None:
    for name in SUBPACKAGES:
        package = importlib.import_module(f"qa_service.{name}")
        assert package.__doc__ and len(package.__doc__.split()) > 10, name
        missing = [n for n in package.__all__ if not hasattr(package, n)]
        assert missing == [], name


def test_the_readme_table_matches_the_tree() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    table = readme.split("## How it works", 1)[1].split("\n## ", 1)[0]
    named: set[str] = set()
    folder = ""  # a subpackage's row names the folder; the module rows under it follow
    for row in re.findall(r"^\| (.+?) \|", table, flags=re.M):
        for item in re.findall(r"`([^`]+)`", row):
            if item.startswith("qa_service/"):
                folder = item if item.endswith("/") else ""
                named.add(item.rstrip("/"))
            else:
                named.add(folder + item.rstrip("/"))
    data = list(PACKAGE.rglob("*.json")) + list(PACKAGE.rglob("*.safetensors"))
    on_disk = {str(p.relative_to(ROOT)) for p in modules() + data if p.name != "__init__.py"}
    on_disk |= {f"qa_service/{name}" for name in SUBPACKAGES} | {"qa_service/web/static"}
    assert sorted(on_disk - named) == [], "modules the README's table does not name"
    assert sorted(named - on_disk) == [], "names in the README's table that do not exist"
