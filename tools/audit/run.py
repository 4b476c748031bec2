"""``make audit``: bandit, schemathesis, sqlmap and wapiti against a throwaway portal on 127.0.0.1,
and the CycloneDX SBOM (``tools.sbom``) made and validated.

    .venv/bin/python -m tools.audit.run [all|bandit|sbom|schemathesis|sqlmap|wapiti]...

bandit reads the source. The other three run against one portal started here (``tools.audit.portal``:
fresh SQLite database with the demo data, production profile, HTTPS with a throwaway certificate,
gunicorn on a free loopback port), stopped at the end. Each tool runs from its own pinned venv
(``.venv-audit``: bandit, schemathesis, sqlmap; ``.venv-wapiti``: wapiti3, whose pins conflict with
schemathesis'), bounded in time. Exit status 1 when any tool reports a finding, and its summary is
printed either way. ``PAX_AUDIT_KEEP=1`` keeps the work folder (reports, logs).
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.parse
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tools.audit.portal import DEMO_PASSWORD, MEMBER_EMAIL, ROOT, SESSION_COOKIE, Portal

AUDIT_BIN = ROOT / ".venv-audit" / "bin"
WAPITI_BIN = ROOT / ".venv-wapiti" / "bin"


class Finding(Exception):
    """A tool found something (or could not run): the message says what."""


def banner(title: str) -> None:
    print(f"\n===== {title} " + "=" * max(0, 70 - len(title)), flush=True)


def run(command: list[str], timeout: float, cwd: Path = ROOT, **kwargs: Any) -> subprocess.CompletedProcess[str]:
    """Run a scanner, bounded in time; its output is returned (and kept out of the way)."""
    try:
        return subprocess.run(  # noqa: S603 (fixed tool paths and arguments)
            command, capture_output=True, text=True, timeout=timeout, check=False, cwd=cwd, **kwargs
        )
    except subprocess.TimeoutExpired as exc:
        raise Finding(f"{Path(command[0]).name} did not finish within {timeout:.0f} s") from exc


# --- bandit ----------------------------------------------------------------------------------------


def bandit(_portal: Portal | None) -> None:
    """Every medium or high finding fails; false positives carry ``# nosec BXXX`` and a reason in place."""
    result = run([str(AUDIT_BIN / "bandit"), "-r", "app", "config.py", "-q", "-f", "json"], timeout=300)
    report = json.loads(result.stdout)
    totals = report["metrics"]["_totals"]
    findings = [r for r in report["results"] if r["issue_severity"] in ("MEDIUM", "HIGH")]
    lows: dict[str, int] = {}
    for r in report["results"]:
        if r["issue_severity"] == "LOW":
            lows[r["test_id"]] = lows.get(r["test_id"], 0) + 1
    print(f"bandit: {totals['loc']} lines of code in app/ and config.py")
    print(
        f"  issues by severity: high {totals['SEVERITY.HIGH']}, medium {totals['SEVERITY.MEDIUM']},"
        f" low {totals['SEVERITY.LOW']} ({', '.join(f'{k} x{v}' for k, v in sorted(lows.items()))})"
    )
    print(f"  waived in place (# nosec BXXX with a reason): {totals.get('skipped_tests', 0)}")
    if report["errors"]:
        raise Finding(f"bandit could not scan: {report['errors']}")
    if findings:
        lines = [f"{r['filename']}:{r['line_number']} {r['test_id']} {r['issue_text']}" for r in findings]
        raise Finding("bandit medium/high findings:\n  " + "\n  ".join(lines))


# --- schemathesis ----------------------------------------------------------------------------------

SCHEMATHESIS_CHECKS = [
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_schema_conformance",
    "response_headers_conformance",
]


def schemathesis(portal: Portal | None) -> None:
    """Every operation of /api/v1/openapi.json, with a member's write token: no 500, all as documented."""
    assert portal is not None
    report = portal.work / "schemathesis"
    command = [str(AUDIT_BIN / "st"), "run", f"{portal.base_url}/api/v1/openapi.json"]
    command += ["--header", f"Authorization: Bearer {portal.member_token}", "--tls-verify", str(portal.certificate)]
    command += ["--checks", ",".join(SCHEMATHESIS_CHECKS), "--max-examples", "25", "--max-time", "150"]
    command += ["--workers", "2", "--seed", "20261201", "--request-timeout", "30", "--no-color"]
    command += ["--report", "junit", "--report-dir", str(report)]
    # In the work folder: schemathesis keeps its state in ./.schemathesis and ./.hypothesis.
    result = run(command, timeout=240, cwd=portal.work, env={**os.environ, "SCHEMATHESIS_HOOKS": ""})
    output = result.stdout + result.stderr
    at = output.rfind(" SUMMARY ")
    summary = output[output.rfind("\n", 0, at) + 1 :] if at >= 0 else output[-3000:]
    print(summary.strip())
    if result.returncode != 0:
        print(output[-12000:])
        raise Finding(f"schemathesis exited with {result.returncode}")


# --- sqlmap ------------------------------------------------------------------------------------------

SQLMAP_TARGETS: list[tuple[str, str, dict[str, str]]] = [
    (
        "member",
        "/api/v1/posts",
        {"cluster": "operational-cooperation", "type": "best_practice", "tlp": "GREEN", "q": "port"},
    ),
    ("member", "/api/v1/search", {"q": "container"}),
    ("member", "/api/v1/stats/seizures", {"group_by": "port"}),
    ("admin", "/api/v1/audit", {"action": "login", "actor": "anna", "target_type": "post", "outcome": "success"}),
]


def sqlmap(portal: Portal | None) -> None:
    """Every query parameter of the search, list, statistics and audit endpoints, with a token."""
    assert portal is not None
    failures = []
    for who, path, params in SQLMAP_TARGETS:
        token = portal.member_token if who == "member" else portal.admin_token
        url = f"{portal.base_url}{path}?{urllib.parse.urlencode(params)}"
        command = [str(AUDIT_BIN / "python"), str(AUDIT_BIN / "sqlmap"), "-u", url, "-p", ",".join(params)]
        command += ["--headers", f"Authorization: Bearer {token}", "--batch", "--level", "2", "--risk", "1"]
        command += ["--technique", "BEUST", "--time-sec", "2", "--threads", "2", "--timeout", "20"]
        command += ["--flush-session", "--disable-coloring", "--output-dir", str(portal.work / "sqlmap")]
        started = time.monotonic()
        result = run(command, timeout=400, cwd=portal.work, env={**os.environ, "HOME": str(portal.work)})
        output = result.stdout + result.stderr
        seconds = time.monotonic() - started
        injectable = "identified the following injection point" in output or re.search(
            r"parameter '[^']+' (?:is|seems to be) .*injectable", output
        )
        clean = "all tested parameters do not appear to be injectable" in output
        # sqlmap lists the HTTP error codes it met; 422 is the API refusing bad input, 5xx is a failure.
        server_errors = re.findall(r"^(5\d\d \([^)]*\) - \d+ times)", output, re.MULTILINE)
        requests = re.findall(r"(\d+) HTTP\(s\) requests", output)
        status = "INJECTABLE" if injectable else "not injectable" if clean else "no verdict"
        print(f"sqlmap {path} ({', '.join(params)}; {who} token): {status}, {seconds:.0f} s")
        if server_errors:
            print(f"  server errors: {'; '.join(server_errors)}")
        if requests:
            print(f"  {requests[-1]} requests")
        if injectable or not clean or result.returncode not in (0,) or server_errors:
            print(output[-6000:])
            failures.append(f"{path}: {status} (exit {result.returncode})")
    if failures:
        raise Finding("sqlmap: " + "; ".join(failures))


# --- wapiti ------------------------------------------------------------------------------------------

#: Attack modules: injection, XSS, redirects, CRLF, file access, CSRF tokens, headers, cookies, CSP.
#: The crawl is bounded by --max-scan-time, each module by --max-attack-time.
WAPITI_MODULES = [
    "xss",
    "permanentxss",
    "sql",
    "exec",
    "file",
    "crlf",
    "redirect",
    "csrf",
    "methods",
    "http_headers",
    "cookieflags",
    "csp",
]
#: Not crawled: signing out or revoking one's own sessions would end the member's session mid-scan.
WAPITI_EXCLUDE = ["/logout", "/account/sessions/*", "/account/mfa*", "/account/password", "/language/*"]
#: Query parameters left off crawled addresses. ``lang`` only picks one of 24 fixed catalogs for one
#: page (an unknown value is ignored, tests/test_i18n_choice.py); crawling every page in every
#: language multiplied the crawl by 25 within the same time budget, and choosing a language
#: (``/language/<code>``) would change the scanning member's own saved language mid-scan.
WAPITI_REMOVED_PARAMETERS = ["lang"]


def member_cookie(portal: Portal) -> str:
    """Sign in through the login form as the demo member; returns the session cookie's value."""
    import requests  # the portal's own venv has it

    with requests.Session() as browser:
        browser.trust_env = False  # no proxy, no CA bundle from the environment: our certificate only
        browser.verify = str(portal.certificate)
        page = browser.get(f"{portal.base_url}/login", timeout=30)
        match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page.text)
        if not match:
            raise Finding("no CSRF token on the login page")
        form = {"csrf_token": match.group(1), "email": MEMBER_EMAIL, "password": DEMO_PASSWORD, "next": ""}
        # Over HTTPS, Flask-WTF also wants the Referer a browser sends (same origin).
        headers = {"Referer": f"{portal.base_url}/login"}
        response = browser.post(
            f"{portal.base_url}/login", data=form, headers=headers, timeout=60, allow_redirects=False
        )
        if response.status_code != 302 or "/login" in response.headers.get("Location", "/login"):
            raise Finding(f"scripted login failed: {response.status_code} {response.text[:300]}")
        cookie = browser.cookies.get(SESSION_COOKIE)
        if not cookie or browser.get(f"{portal.base_url}/account/", timeout=30).status_code != 200:
            raise Finding("scripted login gave no working session cookie")
        return cookie


def wapiti(portal: Portal | None) -> None:
    assert portal is not None
    cookie = member_cookie(portal)
    report = portal.work / "wapiti.json"
    command = [str(WAPITI_BIN / "wapiti"), "-u", f"{portal.base_url}/", "--scope", "folder"]
    command += ["-C", f"{SESSION_COOKIE}={cookie}", "--verify-ssl", "0", "-m", ",".join(WAPITI_MODULES)]
    for path in WAPITI_EXCLUDE:
        command += ["-x", f"{portal.base_url}{path}"]
    for parameter in WAPITI_REMOVED_PARAMETERS:
        command += ["-r", parameter]
    command += ["-s", f"{portal.base_url}/posts", "--max-scan-time", "150", "--max-attack-time", "45"]
    command += ["-d", "3", "--max-links-per-page", "40", "--max-files-per-dir", "20", "--tasks", "4"]
    command += ["--flush-session", "--store-session", str(portal.work / "wapiti-session"), "-t", "20"]
    command += ["-f", "json", "-o", str(report), "--no-bugreport", "-v", "1"]
    result = run(command, timeout=600, env={**os.environ, "HOME": str(portal.work)})
    output = result.stdout + result.stderr
    (portal.work / "wapiti.log").write_text(output)
    if result.returncode != 0 or not report.exists():
        print(output[-6000:])
        raise Finding(f"wapiti exited with {result.returncode}")
    launched = re.findall(r"Launching module (\w+)", output)
    print(f"wapiti modules run: {', '.join(launched) or 'none'}")
    for line in output.splitlines():
        if re.search(r"max (scan|attack) time", line, re.IGNORECASE):
            print(f"  wapiti: {line.strip()}")
    data = json.loads(report.read_text())
    info = data.get("infos", {})
    print(
        f"wapiti {info.get('version', '')}: {info.get('crawled_pages_nbr', '?')} pages crawled as {MEMBER_EMAIL},"
        f" modules {', '.join(WAPITI_MODULES)}"
    )
    found = []
    for section in ("vulnerabilities", "anomalies"):
        counts = {name: len(items) for name, items in data.get(section, {}).items()}
        print(f"  {section}: {sum(counts.values())}" + "".join(f"; {k} {v}" for k, v in counts.items() if v))
        for name, items in data.get(section, {}).items():
            found += [f"{section[:-3]}y {name}: {i.get('method')} {i.get('path')} {i.get('info')}" for i in items]
    # "Additionals" are information, not findings (e.g. the methods module listing OPTIONS).
    extra = {name: len(items) for name, items in data.get("additionals", {}).items() if items}
    print("  additional information (not findings): " + (", ".join(f"{k} {v}" for k, v in extra.items()) or "none"))
    if found:
        raise Finding("wapiti findings:\n  " + "\n  ".join(found[:40]))


# --- main --------------------------------------------------------------------------------------------

# --- SBOM ------------------------------------------------------------------------------------------


def sbom(_portal: Portal | None) -> None:
    """``make sbom``'s CycloneDX SBOM of the portal's venv, made and validated (``tools.sbom``)."""
    from tools import sbom as cyclonedx

    try:
        bom = cyclonedx.check(cyclonedx.build())
    except cyclonedx.SbomError as exc:
        raise Finding(str(exc)) from exc
    print(f"sbom: {cyclonedx.DEFAULT_OUTPUT.relative_to(ROOT)}, CycloneDX {bom['specVersion']}, ", end="")
    print(f"{len(bom['components'])} components, valid; every runtime pin present")


TOOLS: dict[str, Callable[[Portal | None], None]] = {
    "bandit": bandit,
    "sbom": sbom,
    "schemathesis": schemathesis,
    "sqlmap": sqlmap,
    "wapiti": wapiti,
}


def _terminate(signum: int, _frame: object) -> None:
    raise SystemExit(128 + signum)  # unwinds through Portal.__exit__, which stops gunicorn


def main(argv: list[str]) -> int:
    names = [n for n in argv if n != "all"] or list(TOOLS)
    unknown = [n for n in names if n not in TOOLS]
    if unknown:
        print(f"unknown tool(s): {', '.join(unknown)}; choose from {', '.join(TOOLS)}", file=sys.stderr)
        return 2
    signal.signal(signal.SIGTERM, _terminate)
    started = time.monotonic()
    failed: list[str] = []
    timings: list[str] = []

    def one(name: str, portal: Portal | None) -> None:
        banner(name)
        t0 = time.monotonic()
        try:
            TOOLS[name](portal)
        except Finding as exc:
            print(f"FAILED: {exc}")
            failed.append(name)
        except Exception as exc:  # a tool that cannot run fails the audit; the others still run
            print(f"FAILED: {name} could not run: {exc!r}")
            failed.append(name)
        timings.append(f"{name} {time.monotonic() - t0:.0f} s")

    offline = ("bandit", "sbom")  # read the source and the venv: no portal needed
    for name in offline:
        if name in names:
            one(name, None)
    live = [n for n in names if n not in offline]
    if live:
        t0 = time.monotonic()
        with Portal("scan") as portal:
            timings.append(f"portal start {time.monotonic() - t0:.0f} s")
            print(f"\nportal: {portal.base_url} (gunicorn, production profile, fresh SQLite, demo data)")
            for name in live:
                one(name, portal)
            errors = portal.server_errors()
        banner("portal log")
        print(f"unhandled exceptions logged by the portal: {len(errors)}")
        if errors:
            failed.append("portal log")
    banner("audit")
    print(f"{', '.join(timings)}; total {time.monotonic() - started:.0f} s")
    print("FAILED: " + ", ".join(failed) if failed else "all scans clean")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
