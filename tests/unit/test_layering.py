"""Layers go one way: entry points -> routes -> services -> adapters and pure rules.

Routes (HTTP) may use everything below them; services (the rules that need several adapters)
never import routes; adapters and pure rules never import a service or a route, and never
Flask. Module-level imports between provider modules form no circle.
"""
import ast
from pathlib import Path

import provider

ROOT = Path(provider.__file__).parent

# Everything not listed is an adapter or a pure rule.
ENTRY_POINTS = ("provider.cli", "provider.wsgi", "provider.gunicorn_conf", "provider.devtools")
ROUTES = ("provider.app", "provider.routes")
SERVICES = ("provider.services", "provider.health", "provider.access.service", "provider.compute.service",
            "provider.ddo.decrypt", "provider.auth.service", "provider.node",
            "provider.ddo.publish", "provider.compute.priced", "provider.audit",
            "provider.compute.review", "provider.console")


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def layer(module: str) -> int:
    for rank, names in ((3, ENTRY_POINTS), (2, ROUTES), (1, SERVICES)):
        if any(module == name or module.startswith(name + ".") for name in names):
            return rank
    return 0


MODULES = {module_name(path): path for path in ROOT.rglob("*.py")}


def imports_of(path: Path, *, top_level_only: bool = False) -> set[str]:
    """Provider modules (and flask/werkzeug) imported; `top_level_only`: not inside functions."""
    tree = ast.parse(path.read_text())
    nodes = tree.body if top_level_only else list(ast.walk(tree))
    found = set()
    for node in nodes:
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names
                         if f"{node.module}.{alias.name}" in MODULES)
    return {name for name in found if name.split(".")[0] in ("provider", "flask", "werkzeug")}


def test_no_module_imports_a_layer_above_it():
    offenders = []
    for module, path in MODULES.items():
        for imported in imports_of(path):
            if imported.split(".")[0] in ("flask", "werkzeug"):
                if layer(module) < 2:
                    offenders.append(f"{module} imports {imported}")
            elif imported in MODULES and layer(imported) > layer(module):
                offenders.append(f"{module} (layer {layer(module)}) imports {imported} (layer {layer(imported)})")
    assert offenders == []


def test_module_imports_form_no_circle():
    graph = {module: {m for m in imports_of(path, top_level_only=True) if m in MODULES and m != module}
             for module, path in MODULES.items()}
    circles, state = [], {}

    def visit(module, trail):
        state[module] = "visiting"
        for target in sorted(graph[module]):
            if state.get(target) == "visiting":
                circles.append(" -> ".join(trail[trail.index(target):] + [target]))
            elif target not in state:
                visit(target, trail + [target])
        state[module] = "done"

    for module in sorted(graph):
        if module not in state:
            visit(module, [module])
    assert circles == []


def test_the_layering_check_sees_a_violation():
    """The rule itself works: a service importing a route is reported."""
    assert layer("provider.compute.service") == 1 and layer("provider.routes.compute") == 2
    assert layer("provider.compute.sandbox") == 0
