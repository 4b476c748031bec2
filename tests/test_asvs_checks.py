"""Small checks that show ASVS 5.0 requirements no other test shows on its own.

Each test names, in its docstring, the requirements of `docs/security/asvs-5.0-l2.md` it is the
evidence for. They check the portal from outside (headers, methods, paths) or a rule's code
directly (password rules, the source of random secrets).
"""

from __future__ import annotations

import ast
import importlib
import inspect
import re
import secrets

import pytest
from flask import Flask
from wtforms import PasswordField

from tests.conftest import csrf_token_from, login

PATHS = ("/", "/login", "/healthz", "/nope", "/api/v1/nope", "/api/v1/openapi.json")


def test_csp_forbids_plugins_base_rewrites_and_framing(client) -> None:
    """v5.0.0-3.4.3, v5.0.0-3.4.6: one global CSP with object-src and base-uri 'none', no
    framing, scripts from our origin only and no eval."""
    for path in PATHS:
        policy = client.get(path).headers["Content-Security-Policy"]
        directives = {d.split()[0]: d.split()[1:] for d in (p.strip() for p in policy.split(";")) if d}
        assert directives["object-src"] == ["'none'"], path
        assert directives["base-uri"] == ["'none'"], path
        assert directives["frame-ancestors"] == ["'none'"], path
        assert directives["script-src"] == ["'self'"], path
        assert "unsafe-eval" not in policy and "unsafe-inline" not in policy, path


def test_hsts_lasts_a_year_and_covers_subdomains(config_factory) -> None:
    """v5.0.0-3.4.1: outside local runs every response, errors included, carries HSTS for at
    least a year with includeSubDomains."""
    from app import create_app

    app = create_app(config_factory(LOCAL_RUN=False, SESSION_COOKIE_SECURE=True))
    client = app.test_client()
    for path in PATHS:
        value = client.get(path, base_url="https://pax.example").headers["Strict-Transport-Security"]
        max_age = int(re.search(r"max-age=(\d+)", value).group(1))  # type: ignore[union-attr]
        assert max_age >= 31_536_000, (path, value)
        assert "includeSubDomains" in value, (path, value)


def test_no_cors_header_whatever_the_origin(client, make) -> None:
    """v5.0.0-3.4.2: no answer, preflight included, lets another origin read it."""
    from tests.test_api_posts import bearer

    headers = {**bearer(make.user()), "Origin": "https://evil.example"}
    for path in ("/api/v1/me", "/api/v1/posts", "/api/v1/openapi.json", "/login"):
        for answer in (
            client.get(path, headers=headers),
            client.options(path, headers={**headers, "Access-Control-Request-Method": "POST"}),
        ):
            assert not any(h.lower().startswith("access-control-") for h, _value in answer.headers.items()), path


def test_trace_is_not_supported(client) -> None:
    """v5.0.0-13.4.4: TRACE is answered 405 and never echoes the request."""
    for path in ("/", "/login", "/api/v1/me", "/api/v1/openapi.json"):
        answer = client.open(path, method="TRACE", headers={"X-Probe": "echo-me"})
        assert answer.status_code == 405, path
        assert b"echo-me" not in answer.data


@pytest.mark.parametrize(
    "path", ["/static/", "/static/js/", "/static/css/", "/.git/HEAD", "/.git/config", "/static/../.git/HEAD", "/.env"]
)
def test_no_directory_listing_and_no_source_control_files(client, path) -> None:
    """v5.0.0-13.4.1, v5.0.0-13.4.3: no folder is listed and nothing of the checkout outside
    static/ (.git, .env) is served."""
    answer = client.get(path)
    assert answer.status_code == 404, (path, answer.status_code)
    assert b"Index of" not in answer.data and b"[core]" not in answer.data and b"ref:" not in answer.data


def test_password_rules_are_length_only() -> None:
    """v5.0.0-6.2.1, v5.0.0-6.2.5, v5.0.0-6.2.9: at least 12 characters, any composition, and
    at least 64 (up to 1024) characters allowed."""
    from app.auth.passwords import password_problem

    for accepted in ("a" * 12, "1" * 12, "            ", "ĳsselmeer-ŝip", "pässwörd ñ 中文字", "x" * 64, "y" * 1024):
        assert password_problem(accepted) is None, accepted
    for refused in ("a" * 11, "", "z" * 1025):
        assert password_problem(refused) is not None, refused


def test_password_is_verified_exactly_as_typed(app: Flask) -> None:
    """v5.0.0-6.2.8: no truncation, trimming or case change before verification."""
    from app.auth.passwords import hash_password, verify_password

    typed = "Quay 7 Crane-Lift " + "é" * 80 + " End"
    stored = hash_password(typed)
    assert verify_password(stored, typed)
    for other in (typed[:-1], typed[:72], typed.lower(), typed.upper(), typed.strip() + " ", " " + typed, typed + "\n"):
        assert not verify_password(stored, other), other


def _form_classes() -> list[type]:
    found = []
    for name in ("app.auth.forms", "app.auth.onboarding_forms", "app.auth.stepup", "app.admin.forms"):
        module = importlib.import_module(name)
        found += [c for _n, c in inspect.getmembers(module, inspect.isclass) if c.__module__ == name]
    return found


def test_password_fields_are_masked_and_allow_paste(client, make) -> None:
    """v5.0.0-6.2.6, v5.0.0-6.2.7: every field that takes a password or secret is a masked
    password input, and none blocks paste or password managers (no autocomplete=off)."""
    for form in _form_classes():
        for attribute, value in vars(form).items():
            field_class = getattr(value, "field_class", None)
            if "password" in attribute and field_class is not None and field_class.__name__ != "BooleanField":
                assert issubclass(field_class, PasswordField), f"{form.__name__}.{attribute}"

    user = make.user()
    page = client.get("/login").get_data(as_text=True)
    step = client.post("/login", data={"email": user.email, "csrf_token": csrf_token_from(page)})
    pages = [step.get_data(as_text=True)]
    login(client, user.email)
    pages.append(client.get("/account/").get_data(as_text=True))
    inputs = [tag for html in pages for tag in re.findall(r"<input\b[^>]*>", html) if "password" in tag]
    assert any('type="password"' in tag for tag in inputs)
    for tag in inputs:
        if re.search(r'name="[^"]*password[^"]*"', tag) and 'type="checkbox"' not in tag:
            assert 'type="password"' in tag, tag
            assert 'autocomplete="off"' not in tag and "onpaste" not in tag.lower(), tag


def test_secrets_come_from_the_operating_systems_csprng(app: Flask, make, monkeypatch) -> None:
    """v5.0.0-6.5.3, v5.0.0-6.5.4, v5.0.0-7.2.3, v5.0.0-11.5.1: session secrets, API tokens and
    recovery codes are drawn from ``secrets`` (the OS CSPRNG) with at least 256, 256 and 80 bits;
    TOTP seeds from pyotp's ``SystemRandom``."""
    import pyotp.compat

    from app.auth import mfa
    from app.auth.tokens import create_token

    drawn: list[int] = []
    real = secrets.token_bytes

    def recording(nbytes: int | None = None) -> bytes:
        drawn.append(nbytes or 32)
        return real(nbytes)

    monkeypatch.setattr(secrets, "token_bytes", recording)
    user = make.user()
    login(app.test_client(), user.email)
    assert drawn and max(drawn) >= 32  # the session secret
    drawn.clear()
    _token, secret = create_token(user, "asvs", "read", 1)
    assert drawn == [32] and len(secret) > 43
    drawn.clear()
    codes = mfa.replace_recovery_codes(user)
    assert drawn == [10] * len(codes)  # 80 bits per code
    assert len(set(codes)) == len(codes)
    assert isinstance(pyotp.compat.random, secrets.SystemRandom)
    assert len(mfa.new_secret()) >= 32  # 160 bits of base32


def test_api_takes_tokens_only_from_the_authorization_header(client, make) -> None:
    """v5.0.0-14.2.1: a token in the query string or a form body authenticates nothing."""
    from tests.test_api_posts import bearer

    header = bearer(make.user(), "read")
    token = header["Authorization"].split()[1]
    assert client.get("/api/v1/me", headers=header).status_code == 200
    for query in ("access_token", "token", "api_key"):
        assert client.get(f"/api/v1/me?{query}={token}").status_code == 401, query
    assert client.get("/api/v1/me", data={"access_token": token}).status_code == 401


def test_session_cookie_carries_no_personal_data(app: Flask, make) -> None:
    """v5.0.0-14.3.3, v5.0.0-10.1.1: the signed (not encrypted) session cookie holds the session
    secret, the account id and the CSRF token, and no address, name, password or provider token."""
    user = make.user()
    client = app.test_client()
    login(client, user.email)
    client.get("/dashboard")
    cookie = client.get_cookie(app.config["SESSION_COOKIE_NAME"])
    assert cookie is not None
    data = app.session_interface.get_signing_serializer(app).loads(cookie.value)  # type: ignore[attr-defined]
    assert set(data) <= {"pax_sid", "_user_id", "_fresh", "_id", "csrf_token", "_permanent", "_flashes"}, data
    text = repr(data).lower()
    for private in (user.email.lower(), user.name.lower(), "password", "access_token", "id_token"):
        assert private not in text, private


#: Pages that answer GET with a form (a confirmation, a one-time link's, an edit form); their POST acts.
CONFIRMATION_PAGES = {
    "onboarding.reset_password",
    "onboarding.accept_invitation",
    "account.confirm",
    "identity_links.confirm",
    "admin.erase",
    "clusters.delete_post",
    "attachments.delete",
    "meetings.remove_agenda_item",
    "meetings.delete_document",
    "meetings.delete",
    # forms: GET draws the form, POST saves it
    "clusters.edit_post",
    "clusters.edit_comment",
    "attachments.edit",
    "workplan.edit_item",
    "meetings.edit_agenda_item",
    "meetings.upload_document",
    "meetings.edit_document",
    "meetings.edit",
}
# Whole words of an endpoint's name ("mark_read", not "markings").
CHANGE_WORDS = re.compile(
    r"(?:^|_)(?:logout|revoke|delete|remove|suspend|reactivate|approve|reject|grant|reset|enable|disable|rotate"
    r"|move|erase|resend|confirm|mark|follow|accept|decide|upload|publish|create|update|edit|save|invite|link"
    r"|unlink)(?:_|$)"
)


def test_changes_are_never_made_by_a_get(app: Flask, client, make, login_as) -> None:
    """v5.0.0-3.5.3: a route named for a change accepts GET only as a confirmation page, whose
    GET changes nothing (the change is its POST, with a CSRF token)."""
    offending = [
        f"{rule.rule} {rule.endpoint}"
        for rule in app.url_map.iter_rules()
        if "GET" in rule.methods
        and CHANGE_WORDS.search(rule.endpoint.split(".")[-1])
        and rule.endpoint not in CONFIRMATION_PAGES
    ]
    assert not offending, offending
    endpoints = {rule.endpoint: rule.methods for rule in app.url_map.iter_rules()}
    for endpoint in CONFIRMATION_PAGES:
        assert "POST" in endpoints[endpoint], endpoint

    from tests.test_posts_pages import publish

    author = make.user(clusters={"policy": "contributor"})
    post = publish(author, title="Still here")
    login_as(author)
    assert client.get(f"/posts/{post.id}/delete").status_code == 200
    assert client.get(f"/posts/{post.id}").status_code == 200


DANGEROUS_CALLS = {
    "eval",
    "exec",
    "compile",
    "__import__",
    "os.system",
    "os.popen",
    "os.exec",
    "subprocess",
    "pickle.loads",
    "pickle.load",
    "marshal.loads",
    "yaml.load",
    "shelve.open",
    "render_template_string",
    "Template",
}


def _called_names(tree: ast.AST) -> set[str]:
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func = node.func
            if isinstance(func, ast.Name):
                names.add(func.id)
            elif isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name):
                names.add(f"{func.value.id}.{func.attr}")
        elif isinstance(node, ast.Import | ast.ImportFrom):
            module = getattr(node, "module", None) or ""
            names |= {module or alias.name for alias in node.names if (module or alias.name).startswith("subprocess")}
            names |= {alias.name for alias in node.names if alias.name in ("render_template_string", "Template")}
    return names


def test_no_dynamic_code_shell_or_unsafe_deserialisation_in_the_application() -> None:
    """v5.0.0-1.2.5, v5.0.0-1.3.2, v5.0.0-1.3.7, v5.0.0-1.5.2: the portal's code runs no shell
    command, evaluates no code, builds no template from a string and unpickles nothing."""
    from pathlib import Path

    sample = ast.parse("import subprocess\nfrom flask import render_template_string\neval(x)\npickle.loads(b)")
    assert {"subprocess", "render_template_string", "eval", "pickle.loads"} <= _called_names(sample)
    root = Path(__file__).resolve().parent.parent
    found = []
    for path in sorted([*(root / "app").rglob("*.py"), root / "config.py"]):
        called = _called_names(ast.parse(path.read_text(encoding="utf-8")))
        found += [f"{path.relative_to(root)}: {name}" for name in sorted(called & DANGEROUS_CALLS)]
        found += [f"{path.relative_to(root)}: {name}" for name in called if name.startswith(("subprocess", "os.exec"))]
    assert not found, found


def test_input_is_decoded_once(client, make) -> None:
    """v5.0.0-1.1.1: what arrives percent- or entity-encoded inside a value is kept as typed,
    never decoded a second time after validation."""
    from tests.test_api_posts import bearer

    author = make.user(clusters={"policy": "contributor"})
    headers = bearer(author)
    title = "Quay %2e%2e%2f %253Cb%253E &lt;i&gt; \\u003cs\\u003e"
    created = client.post(
        "/api/v1/posts",
        json={"type": "best_practice", "cluster": "policy", "title": title, "body": "Body %0d%0a", "tlp": "GREEN"},
        headers=headers,
    )
    assert created.status_code == 201, created.get_json()
    again = client.get(f"/api/v1/posts/{created.get_json()['id']}", headers=headers).get_json()
    assert again["title"] == title and again["body"] == "Body %0d%0a"
    found = client.get("/api/v1/posts?q=%25253Cb", headers=headers)
    assert found.status_code == 200
