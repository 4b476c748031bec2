"""``make sbom``: a CycloneDX SBOM (JSON) of the Python packages installed in the portal's venv.

    .venv/bin/python -m tools.sbom [OUTPUT] [--python PYTHON]

``cyclonedx-py environment`` (cyclonedx-bom, pinned in ``requirements-audit.txt`` and run from
``.venv-audit``) reads the packages installed for ``PYTHON`` (default: ``.venv/bin/python``; on
a production host, the venv gunicorn runs from) and writes ``OUTPUT`` (default
``build/sbom.cdx.json``), with ``pyproject.toml`` as the main component. ``check`` then reads it
back: the CycloneDX library's strict JSON-schema validator, ``bomFormat`` and ``specVersion``,
and every runtime pin of ``requirements.txt`` present with its pinned version. Exit status 1
when the SBOM cannot be made or is not right; ``make audit`` runs this too.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
AUDIT_PYTHON = ROOT / ".venv-audit" / "bin" / "python"
CYCLONEDX_PY = ROOT / ".venv-audit" / "bin" / "cyclonedx-py"
DEFAULT_OUTPUT = ROOT / "build" / "sbom.cdx.json"
DEFAULT_PYTHON = ROOT / ".venv" / "bin" / "python"
SPEC_VERSION = "1.6"

#: Run in .venv-audit: the CycloneDX library's own validator, strict (no unknown properties).
_VALIDATE = """
import sys
from cyclonedx.schema import SchemaVersion
from cyclonedx.validation.json import JsonStrictValidator
error = JsonStrictValidator(SchemaVersion.from_version(sys.argv[2])).validate_str(open(sys.argv[1]).read())
print(error.data if error else "", end="")
sys.exit(1 if error else 0)
"""


class SbomError(Exception):
    """The SBOM could not be made or is not right: the message says what."""


def build(output: Path = DEFAULT_OUTPUT, python: Path = DEFAULT_PYTHON) -> Path:
    output.parent.mkdir(parents=True, exist_ok=True)
    command = [str(CYCLONEDX_PY), "environment", "--pyproject", str(ROOT / "pyproject.toml")]
    command += ["--spec-version", SPEC_VERSION, "--output-format", "JSON", "--output-file", str(output), str(python)]
    result = subprocess.run(command, capture_output=True, text=True, timeout=300, check=False, cwd=ROOT)  # noqa: S603
    if result.returncode != 0:
        raise SbomError(f"cyclonedx-py failed ({result.returncode}): {result.stderr.strip()[-2000:]}")
    return output


def runtime_pins() -> dict[str, str]:
    """``requirements.txt``'s pins, names normalised as PEP 503 does (``flask``, ``psycopg``)."""
    pins = {}
    for line in (ROOT / "requirements.txt").read_text().splitlines():
        match = re.match(r"^([A-Za-z0-9_.-]+)(?:\[[^\]]*\])?==([^\s#]+)", line.strip())
        if match:
            pins[re.sub(r"[-_.]+", "-", match[1]).lower()] = match[2]
    return pins


def check(path: Path) -> dict[str, Any]:
    """Validate the SBOM at ``path``; returns it parsed. ``SbomError`` names what is wrong."""
    result = subprocess.run(  # noqa: S603 (fixed interpreter and script)
        [str(AUDIT_PYTHON), "-c", _VALIDATE, str(path), SPEC_VERSION],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if result.returncode != 0:
        raise SbomError(f"not valid CycloneDX {SPEC_VERSION}: {(result.stdout or result.stderr).strip()[:2000]}")
    bom = json.loads(path.read_text())
    if bom.get("bomFormat") != "CycloneDX" or bom.get("specVersion") != SPEC_VERSION:
        raise SbomError(f"bomFormat/specVersion are {bom.get('bomFormat')}/{bom.get('specVersion')}")
    found = {re.sub(r"[-_.]+", "-", c["name"]).lower(): c.get("version") for c in bom.get("components", [])}
    wrong = {name: found.get(name) for name, version in runtime_pins().items() if found.get(name) != version}
    if wrong:
        raise SbomError(f"runtime packages missing or at another version than pinned: {wrong}")
    return bom


def main(argv: list[str]) -> int:
    args = list(argv)
    python = DEFAULT_PYTHON
    if "--python" in args:
        at = args.index("--python")
        python = Path(args[at + 1])
        del args[at : at + 2]
    output = Path(args[0]) if args else DEFAULT_OUTPUT
    try:
        bom = check(build(output, python))
    except (SbomError, subprocess.TimeoutExpired, OSError, ValueError) as exc:
        print(f"sbom: FAILED: {exc}", file=sys.stderr)
        return 1
    print(f"sbom: {output} (CycloneDX {bom['specVersion']}, {len(bom['components'])} components, valid)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
