"""network.graph stays a pure package: no Flask, no SQLAlchemy."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import network.graph

PACKAGE = Path(network.graph.__file__).parent
FORBIDDEN = re.compile(
    r"^\s*(import\s+(flask|sqlalchemy)\b|from\s+(flask|sqlalchemy)\b)|sqlalchemy", re.M
)


def test_sources_do_not_import_flask_or_sqlalchemy():
    sources = sorted(PACKAGE.rglob("*.py"))
    assert sources, "no sources found"
    offenders = [str(p) for p in sources if FORBIDDEN.search(p.read_text(encoding="utf-8"))]
    assert offenders == []


def test_importing_the_package_loads_neither():
    code = (
        "import sys, network.graph; "
        "bad = [m for m in sys.modules if m.split('.')[0] in ('flask', 'sqlalchemy')]; "
        "print(bad); sys.exit(1 if bad else 0)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=False,
        cwd=PACKAGE.parents[1],  # the repository root, so that ``network`` is importable
    )
    assert done.returncode == 0, done.stdout + done.stderr
