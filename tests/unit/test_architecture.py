"""The domain packages stay pure: no Flask, no SQLAlchemy (STYLE.md, "What we take" 1)."""

import ast
from pathlib import Path

import pytest

PACKAGE_ROOT = Path(__file__).resolve().parents[2] / "network"
FORBIDDEN = ("flask", "flask_", "sqlalchemy", "werkzeug", "jinja2", "wtforms")


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


@pytest.mark.parametrize("package", ["graph", "matching"])
def test_domain_package_imports_neither_flask_nor_sqlalchemy(package):
    files = sorted((PACKAGE_ROOT / package).rglob("*.py"))
    assert files, f"network/{package} has no modules"
    offenders = {
        str(path.relative_to(PACKAGE_ROOT)): sorted(
            name for name in _imports(path) if name.split(".")[0].startswith(FORBIDDEN)
        )
        for path in files
    }
    assert {k: v for k, v in offenders.items() if v} == {}


@pytest.mark.parametrize("module", ["network.vocabulary", "network.reference", "network.synthetic"])
def test_shared_pure_modules_stay_pure(module):
    path = PACKAGE_ROOT.parent / (module.replace(".", "/") + ".py")
    if not path.exists():
        path = PACKAGE_ROOT.parent / module.replace(".", "/") / "__init__.py"
    assert not [n for n in _imports(path) if n.split(".")[0].startswith(FORBIDDEN)]


def test_importing_domain_packages_does_not_load_flask():
    import subprocess
    import sys

    code = (
        "import sys, network.graph, network.matching, network.synthetic;"
        "bad=[m for m in sys.modules if m.split('.')[0] in ('flask','sqlalchemy')];"
        "print(','.join(bad)); sys.exit(1 if bad else 0)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
