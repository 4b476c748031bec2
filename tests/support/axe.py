"""axe-core (npm, pinned in package.json) run inside a Playwright page.

The script is added to the page by Playwright, not by the portal: contexts that run it are
opened with ``bypass_csp=True`` because the portal's Content-Security-Policy allows no script
but its own (and rightly so). Results are the WCAG 2.0/2.1 A and AA rules only.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

AXE_SCRIPT = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
#: Impacts that fail a page; "minor" and "moderate" ones are reported but do not fail.
FAILING_IMPACTS = ("serious", "critical")


@dataclass(frozen=True)
class Violation:
    page: str
    rule: str
    impact: str
    help: str
    targets: tuple[str, ...]
    #: axe's explanation for the first node ("Fix any of the following: ...")
    detail: str = ""

    def __str__(self) -> str:
        shown = ", ".join(self.targets[:5]) + (f" (+{len(self.targets) - 5} more)" if len(self.targets) > 5 else "")
        detail = " ".join(self.detail.split())
        return f"{self.page}: [{self.impact}] {self.rule}: {self.help} -> {shown}" + (
            f"\n    {detail}" if detail else ""
        )


def axe_version() -> str:
    import json

    return json.loads((AXE_SCRIPT.parent / "package.json").read_text())["version"]


def run_axe(page: Any, label: str) -> list[Violation]:
    """Every WCAG 2.1 A/AA violation axe finds in ``page`` as it is now, labelled ``label``."""
    if not AXE_SCRIPT.is_file():
        raise RuntimeError(f"{AXE_SCRIPT} is missing: run `make assets` (npm ci installs axe-core)")
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.add_script_tag(path=str(AXE_SCRIPT))
    result = page.evaluate(
        """async (tags) => {
            const r = await axe.run(document, {runOnly: {type: 'tag', values: tags}, resultTypes: ['violations']});
            return r.violations.map(v => ({
                id: v.id, impact: v.impact || 'unknown', help: v.help,
                targets: v.nodes.map(n => n.target.join(' ')),
                detail: (v.nodes[0] && v.nodes[0].failureSummary) || ''}));
        }""",
        WCAG_TAGS,
    )
    return [Violation(label, v["id"], v["impact"], v["help"], tuple(v["targets"]), v["detail"]) for v in result]


def summary(violations: list[Violation]) -> dict[str, int]:
    """Affected-node counts by impact, e.g. {'serious': 3}."""
    counts: dict[str, int] = {}
    for v in violations:
        counts[v.impact] = counts.get(v.impact, 0) + len(v.targets)
    return counts
