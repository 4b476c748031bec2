"""``make sbom``: a CycloneDX SBOM of the portal's venv, made by cyclonedx-py and validated.

It needs ``.venv-audit`` (``make audit`` installs it; CI runs ``make audit`` after ``make test``,
and the audit's ``sbom`` step makes and checks the SBOM the same way), so without it this is skipped.
"""

from __future__ import annotations

import json

import pytest

from tools import sbom

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not sbom.CYCLONEDX_PY.exists(), reason="no .venv-audit with cyclonedx-py (make audit)"),
]


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    return sbom.build(tmp_path_factory.mktemp("sbom") / "sbom.cdx.json")


def test_the_sbom_is_valid_cyclonedx_with_the_pinned_runtime_packages(made):
    bom = sbom.check(made)
    assert bom["bomFormat"] == "CycloneDX" and bom["specVersion"] == sbom.SPEC_VERSION
    assert bom["metadata"]["component"]["name"] == "pax-portal"
    flask = [c for c in bom["components"] if c["name"].lower() == "flask"]
    assert [(c["version"], c["purl"]) for c in flask] == [
        (sbom.runtime_pins()["flask"], f"pkg:pypi/flask@{sbom.runtime_pins()['flask']}")
    ]


def test_a_damaged_sbom_is_refused(made, tmp_path):
    bom = json.loads(made.read_text())
    bom["components"] = [c for c in bom["components"] if c["name"].lower() != "flask"]
    missing = tmp_path / "missing.json"
    missing.write_text(json.dumps(bom))
    with pytest.raises(sbom.SbomError, match="flask"):
        sbom.check(missing)
    bom["components"][0]["surprise"] = True
    invalid = tmp_path / "invalid.json"
    invalid.write_text(json.dumps(bom))
    with pytest.raises(sbom.SbomError, match="not valid CycloneDX"):
        sbom.check(invalid)
