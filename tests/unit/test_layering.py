"""Layers go one way: adapters and rules never import Flask or the routes."""
import ast
from pathlib import Path

import provider

ROOT = Path(provider.__file__).parent
NON_HTTP = ["auth", "chain", "crypto", "ddo", "stores", "access", "compute", "config.py", "errors.py", "health.py",
            "validation.py"]


def imported_modules(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_adapters_and_services_do_not_import_flask_or_routes():
    offenders = []
    for part in NON_HTTP:
        target = ROOT / part
        for path in ([target] if target.is_file() else target.rglob("*.py")):
            bad = {m for m in imported_modules(path)
                   if m == "flask" or m.startswith(("flask.", "werkzeug", "provider.routes", "provider.app"))}
            if bad:
                offenders.append(f"{path.relative_to(ROOT)}: {sorted(bad)}")
    assert offenders == []
