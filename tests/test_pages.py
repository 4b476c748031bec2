"""The pages a visitor and a member see, and the errors they get."""

from __future__ import annotations

import pytest
from flask import abort

ERROR_CODES = [400, 403, 404, 405, 413, 429, 500]


def test_landing_page_says_what_pax_is(client):
    page = client.get("/")
    text = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "European Ports Alliance" in text
    assert 'href="/login"' in text


def test_signed_in_landing_goes_to_dashboard(client, make, login_as):
    login_as(make.user())
    assert client.get("/").headers["Location"] == "/dashboard"


def test_dashboard_lists_only_my_clusters(client, make, login_as):
    user = make.user(clusters={"innovation": "reader"})
    login_as(user)
    text = client.get("/dashboard").get_data(as_text=True)
    assert "Innovation: technology for the resilience" in text
    assert 'href="/clusters/innovation"' in text
    assert 'href="/clusters/policy"' not in text.split("<main")[1].split("All clusters")[0]


def test_dashboard_without_memberships_says_so(client, make, login_as):
    login_as(make.user())
    assert "not a member of any cluster" in client.get("/dashboard").get_data(as_text=True)


def test_cluster_index_lists_all_four(client, make, login_as):
    login_as(make.user())
    text = client.get("/clusters/").get_data(as_text=True)
    for slug in ("operational-cooperation", "infiltration-corruption", "policy", "innovation"):
        assert f'href="/clusters/{slug}"' in text


def test_cluster_page_has_a_plain_empty_state(client, make, login_as):
    login_as(make.user(clusters={"policy": "contributor"}))
    page = client.get("/clusters/policy")
    text = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "Policy development and implementation" in text
    assert "Nothing has been shared in this cluster yet" in text


def test_unknown_cluster_is_404(client, make, login_as):
    login_as(make.user())
    assert client.get("/clusters/harbour").status_code == 404


@pytest.fixture
def error_app(app):
    """Routes that fail on purpose, to see every error page."""

    @app.route("/_test/fail/<int:code>")
    def fail(code: int):
        if code == 500:
            raise RuntimeError("boom: secret-marker-123")
        abort(code)

    @app.route("/api/v1/_test/fail/<int:code>")
    def api_fail(code: int):
        if code == 500:
            raise RuntimeError("boom: secret-marker-123")
        abort(code)

    app.view_functions["api_fail"] = api_fail
    return app


@pytest.mark.own_app
@pytest.mark.parametrize("code", ERROR_CODES)
def test_error_pages_are_html_in_the_portal_style(error_app, code, caplog):
    client = error_app.test_client()
    path = "/_test/fail/405" if code != 405 else "/_test/fail/404"
    response = client.post(path) if code == 405 else client.get(f"/_test/fail/{code}")
    text = response.get_data(as_text=True)
    assert response.status_code == code
    assert response.mimetype == "text/html"
    assert "ecl-" in text
    assert "secret-marker-123" not in text
    assert "Traceback" not in text


@pytest.mark.own_app
@pytest.mark.parametrize("code", ERROR_CODES)
def test_api_errors_are_uniform_json(error_app, code):
    client = error_app.test_client()
    response = client.post("/api/v1/_test/fail/404") if code == 405 else client.get(f"/api/v1/_test/fail/{code}")
    assert response.status_code == code
    assert response.mimetype == "application/json"
    body = response.get_json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "fields"}
    assert body["error"]["message"]
    assert "secret-marker-123" not in response.get_data(as_text=True)


def test_unknown_api_path_is_json_404(client):
    response = client.get("/api/v1/does-not-exist")
    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == "not_found"


def test_oversized_request_is_413(app, client):
    app.config["MAX_CONTENT_LENGTH"] = 1024
    response = client.post("/login", data={"email": "a" * 4096, "password": "x"})
    assert response.status_code == 413
    assert "larger than the portal accepts" in response.get_data(as_text=True)


def test_security_headers_on_every_response(client):
    for path in ("/", "/login", "/healthz", "/nope", "/api/v1/nope"):
        headers = client.get(path).headers
        assert "script-src 'self'" in headers["Content-Security-Policy"]
        assert "unsafe-inline" not in headers["Content-Security-Policy"]
        assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert headers["Referrer-Policy"] == "same-origin"


def test_nothing_marked_is_cacheable_only_static_assets_are(client, make):
    """Every API answer carrying marked content (and every page) says no-store; the static
    stylesheet may be cached, and the public pack-signing key keeps its own caching."""
    from tests.test_api_posts import bearer
    from tests.test_posts_pages import publish

    author = make.user(clusters={"policy": "contributor"})
    post = publish(author, tlp="AMBER")
    headers = bearer(author)
    for path in (f"/api/v1/posts/{post.id}", "/api/v1/posts", "/api/v1/me", "/api/v1/nope", "/api/v1/stats/seizures"):
        answer = client.get(path, headers=headers)
        assert answer.headers.get("Cache-Control") == "no-store", (path, answer.status_code)
    assert "no-store" not in client.get("/static/css/pax.css").headers.get("Cache-Control", "")
    assert "public" in client.get("/api/v1/pack-key").headers["Cache-Control"]


def test_no_inline_script_in_pages(client, make, login_as):
    import re

    pages = [client.get("/").get_data(as_text=True), client.get("/login").get_data(as_text=True)]
    login_as(make.user())
    pages += [client.get(p).get_data(as_text=True) for p in ("/dashboard", "/clusters/", "/clusters/policy", "/nope")]
    for html in pages:
        for tag in re.findall(r"<script\b[^>]*>", html):
            assert "src=" in tag
        assert " style=" not in html
        assert " onclick=" not in html.lower()


def test_hsts_and_secure_cookies_outside_local_runs(config_factory, make):
    from app import create_app

    app = create_app(config_factory(LOCAL_RUN=False, SESSION_COOKIE_SECURE=True))
    response = app.test_client().get("/login", base_url="https://pax.example")
    assert response.headers["Strict-Transport-Security"].startswith("max-age=")
    assert "Secure" in response.headers["Set-Cookie"]


def test_the_session_cookie_is_host_prefixed_outside_local_runs(config_factory, make):
    """v5.0.0-3.3.1, v5.0.0-3.3.3: with the production profile's cookie settings, the session cookie
    is ``__Host-pax_session``: Secure, Path=/ and no Domain; signing in over it works."""
    from app import create_app
    from tests.conftest import TEST_PASSWORD, csrf_token_from

    app = create_app(config_factory(LOCAL_RUN=False, SESSION_COOKIE_SECURE=True))
    assert app.config["SESSION_COOKIE_NAME"] == "__Host-pax_session"
    browser = app.test_client()
    page = browser.get("/login", base_url="https://pax.example")
    cookie = page.headers["Set-Cookie"]
    attributes = [part.strip() for part in cookie.split(";")]
    assert attributes[0].startswith("__Host-pax_session=")
    assert "Secure" in attributes and "Path=/" in attributes
    assert not any(part.lower().startswith("domain=") for part in attributes)
    user = make.user()
    token = csrf_token_from(page.get_data(as_text=True))
    answer = browser.post(
        "/login",
        data={"email": user.email, "password": TEST_PASSWORD, "csrf_token": token},
        base_url="https://pax.example",
        headers={"Referer": "https://pax.example/login"},
    )
    assert answer.status_code == 302 and answer.headers["Set-Cookie"].startswith("__Host-pax_session=")
    assert browser.get("/account/", base_url="https://pax.example").status_code == 200


def test_no_hsts_on_local_runs(client):
    assert "Strict-Transport-Security" not in client.get("/login").headers


def test_the_header_is_each_readers_own_and_its_sign_out_works(client, make, login_as, new_client):
    """The signed-in header is rendered once per set of values it shows (app/htmlcache/fragments.py): a
    second reader of the same page gets their own name and role, a renamed account shows the new
    name, and the sign-out form carries the request's own CSRF token."""
    import re

    from app.extensions import db

    first = make.user(clusters={"policy": "reader"})
    second = make.user(role="curator", clusters={"policy": "reader"})
    first.name, second.name = "Ana Reader", "Bo Curator"
    db.session.commit()
    login_as(first)
    page = client.get("/clusters/policy").get_data(as_text=True)
    header = page.split("</header>")[0]
    assert "Ana Reader" in header and "Role: Member" in header

    other = new_client(second).get("/clusters/policy").get_data(as_text=True).split("</header>")[0]
    assert "Bo Curator" in other and "Role: Curator" in other and "Ana Reader" not in other

    first.name = "Ana Renamed"
    db.session.commit()
    again = client.get("/clusters/policy").get_data(as_text=True)
    assert "Ana Renamed" in again.split("</header>")[0] and "Ana Reader" not in again

    sign_out = re.search(r'action="/logout"[^>]*>\s*<input type="hidden" name="csrf_token" value="([^"]+)"', again)
    assert sign_out and sign_out[1] != "pax-csrf-token-slot"
    assert client.post("/logout", data={"csrf_token": sign_out[1]}).status_code == 302
    assert client.get("/dashboard").status_code == 302
