"""The shape of ``app/``: which module may import which.

The import graph is read from the source with ``ast``, not by importing anything. An import
counts wherever it stands, at module level or inside a function; only imports under
``if TYPE_CHECKING:`` are left out, since they never run (they name types for annotations).
``from package import name`` counts as an import of ``package.name`` when that is a module,
otherwise of ``package``.

The layers:

- **Kernel** (``KERNEL``): what every feature may build on. It imports the kernel only: no
  feature package and no wiring. The audit *writer* (``app.audit``: ``record`` and the hash
  chain) is kernel, while the audit *reader* (``app.audit_log``: pages, queries, export) is a
  feature, because it names the posts, meetings and documents events are about.
- **Policy** (``app.policy``): the one access policy. Besides the kernel it may import the
  features' *models* (``MODELS``: ``app.<feature>.models`` and ``app.auth.onboarding_models``),
  never their services, queries or routes.
- **Features** (``FEATURES``): one package per capability. They import the kernel, the
  policy and each other (without cycles).
- **Wiring** (``WIRING``): ``create_app`` and what it assembles (the CLI, template helpers,
  every model for Alembic, the demo data) and key rotation, which re-seals the
  secrets features keep. It may import anything, and nothing in the kernel imports it.

Rules: (a) no import cycle, except one made only of model modules (SQLAlchemy relationships
may name each other); (b) the kernel imports nothing outside the kernel, and the policy nothing
outside the kernel and the models; (c) every module of ``app/`` is placed in exactly one layer,
so a new module has to be given one.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

APP = Path(__file__).resolve().parent.parent / "app"

KERNEL = (
    "app.audit",  # the writer: record, the chain, the event model
    "app.concurrency",
    "app.csvguard",
    "app.db",
    "app.enums",
    "app.errors",  # the error pages and the API's error body
    "app.etags",
    "app.extensions",
    "app.files",
    "app.forms",
    "app.htmlcache",
    "app.keys.backend",
    "app.keys.keyring",
    "app.keys.pkcs11",
    "app.keys.pkcs11_sessions",
    "app.keys.sealed",
    "app.keys.signing",
    "app.localtime",  # dates and times in the reader's zone
    "app.i18n",  # the reader's language: gettext, catalogs, the language of mail
    "app.logging",
    "app.markings",
    "app.migrations_state",
    "app.outbound",  # the guard on requests to addresses administrators enter
    "app.pagination",
    "app.parsers",
    "app.ratelimits",
    "app.routing",
    "app.security",
    "app.sqlite_writers",
    "app.validation",
)
POLICY = ("app.policy",)
FEATURES = (
    "app.admin",
    "app.api",
    "app.audit_log",
    "app.auth",
    "app.clusters",
    "app.crossmatch",
    "app.directory",
    "app.drafts",
    "app.health",
    "app.help",
    "app.main",
    "app.meetings",
    "app.notifications",
    "app.privacy",
    "app.retention",
    "app.stats",
    "app.taxii",
    "app.workplan",
)
WIRING = (
    "app",  # create_app
    "app.cli",
    "app.demo",
    "app.keys",  # the package itself (a docstring)
    "app.keys.rotation",
    "app.models",
    "app.templating",
    "app.wsgi",
)


def _module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _type_checking_nodes(tree: ast.AST) -> set[int]:
    skipped: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skipped.update(id(inner) for stmt in node.body for inner in ast.walk(stmt))
    return skipped


def import_graph(root: Path = APP) -> dict[str, set[str]]:
    """Each module of ``root`` and the modules of ``root`` it imports."""
    files = {_module_name(p, root): p for p in root.rglob("*.py")}

    def resolve(name: str) -> str | None:
        while name and name not in files:
            name = name.rpartition(".")[0]
        return name or None

    graph: dict[str, set[str]] = {}
    for module, path in files.items():
        tree = ast.parse(path.read_text(), str(path))
        skipped = _type_checking_nodes(tree)
        found: set[str | None] = set()
        for node in ast.walk(tree):
            if id(node) in skipped:
                continue
            if isinstance(node, ast.Import):
                found.update(resolve(alias.name) for alias in node.names if alias.name.split(".")[0] == "app")
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
                    package = package[: len(package) - node.level + 1]
                    source = ".".join([*package, node.module] if node.module else package)
                else:
                    source = node.module or ""
                if source.split(".")[0] != "app":
                    continue
                for alias in node.names:
                    as_module = f"{source}.{alias.name}"
                    found.add(as_module if as_module in files else resolve(source))
        found.discard(None)
        found.discard(module)
        graph[module] = {m for m in found if m is not None}
    return graph


def _in(module: str, prefixes: tuple[str, ...]) -> bool:
    return any(module == p or module.startswith(p + ".") for p in prefixes)


def layer(module: str) -> str:
    """The most specific prefix decides (``app.keys.rotation`` is wiring, ``app.keys.sealed`` kernel)."""
    best = ("", "")
    for name, prefixes in (("kernel", KERNEL), ("policy", POLICY), ("feature", FEATURES), ("wiring", WIRING)):
        for prefix in prefixes:
            if (module == prefix or module.startswith(prefix + ".")) and len(prefix) >= len(best[1]):
                best = (name, prefix)
    return best[0]


def is_model_module(module: str) -> bool:
    last = module.rsplit(".", 1)[-1]
    return last in ("models", "onboarding_models") or ".models." in module or module == "app.markings"


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan, iteratively)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, edges = work[-1]
            for nxt in edges:
                if nxt not in index:
                    index[nxt] = low[nxt] = len(index)
                    stack.append(nxt)
                    on_stack.add(nxt)
                    work.append((nxt, iter(sorted(graph.get(nxt, ())))))
                    break
                if nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
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
    return found


def upward_imports(graph: dict[str, set[str]]) -> list[str]:
    problems = []
    for module, imported in sorted(graph.items()):
        kind = layer(module)
        for target in sorted(imported):
            target_kind = layer(target)
            if kind == "kernel" and target_kind != "kernel":
                problems.append(f"{module} (kernel) imports {target} ({target_kind})")
            elif kind == "policy" and target_kind != "kernel" and not is_model_module(target):
                problems.append(f"{module} (policy) imports {target}, which is neither kernel nor models")
            elif kind != "wiring" and target_kind == "wiring":
                problems.append(f"{module} ({kind}) imports {target} (wiring)")
    return problems


@pytest.fixture(scope="module")
def graph() -> dict[str, set[str]]:
    return import_graph()


def test_the_graph_is_read(graph: dict[str, set[str]]) -> None:
    # A reader that found nothing would pass every rule below.
    assert "app.policy" in graph["app.clusters.services"]
    assert "app.markings" in graph["app.policy"]


def test_no_import_cycle_other_than_models(graph: dict[str, set[str]]) -> None:
    found = [c for c in cycles(graph) if not all(is_model_module(m) for m in c)]
    assert found == []


def test_kernel_and_policy_import_nothing_above_them(graph: dict[str, set[str]]) -> None:
    assert upward_imports(graph) == []


def test_every_module_has_a_layer(graph: dict[str, set[str]]) -> None:
    assert [m for m in sorted(graph) if not layer(m)] == []


def test_the_rules_catch_a_bad_import(tmp_path: Path) -> None:
    """The same checks on a small tree with a kernel module importing a feature, and a cycle."""
    app = tmp_path / "app"
    (app / "clusters").mkdir(parents=True)
    (app / "__init__.py").write_text("")
    (app / "clusters" / "__init__.py").write_text("")
    (app / "clusters" / "services.py").write_text("from app.pagination import Page\n")
    (app / "pagination.py").write_text("def page():\n    from app.clusters.services import x\n")
    bad = import_graph(app)
    assert upward_imports(bad) == ["app.pagination (kernel) imports app.clusters.services (feature)"]
    assert cycles(bad) == [["app.clusters.services", "app.pagination"]]
