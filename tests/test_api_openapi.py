"""The OpenAPI document says what the API does: every route, every scope, every response shape.

Responses of real calls, successes and refusals alike, are validated against the document's
JSON Schemas (jsonschema, draft 2020-12, with format checks), and random bodies and query
strings must get a documented answer, never a 500.
"""

from __future__ import annotations

import io
import json
import re
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate as validate_spec

from tests.test_api_posts import CLUSTER, bearer, best_practice, create, incident_note, post_count

HTTP_METHODS = {"get", "put", "post", "patch", "delete", "head", "options", "trace"}


@pytest.fixture
def document(client) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200 and response.mimetype == "application/json"
    return response.get_json()


class Conformance:
    """Checks responses against the document; remembers which operations and statuses were seen."""

    def __init__(self, document: dict[str, Any]) -> None:
        self.document = document
        self.seen: set[tuple[str, str, str]] = set()

    def _response_spec(self, template: str, method: str, status: int) -> dict[str, Any]:
        operation = self.document["paths"][template][method.lower()]
        responses = operation["responses"]
        assert str(status) in responses, f"{method} {template} answered {status}, which is not documented"
        spec = responses[str(status)]
        if "$ref" in spec:
            spec = self.document["components"]["responses"][spec["$ref"].rsplit("/", 1)[1]]
        return spec

    def validator(self, schema: dict[str, Any]) -> Draft202012Validator:
        # References are "#/components/...": resolve them against a root that carries the components.
        root = {**schema, "components": self.document["components"]}
        return Draft202012Validator(root, format_checker=Draft202012Validator.FORMAT_CHECKER)

    def check(self, response, template: str, method: str = "GET"):  # type: ignore[no-untyped-def]
        assert response.status_code != 500, response.get_data(as_text=True)[:500]
        spec = self._response_spec(template, method, response.status_code)
        self.seen.add((template, method.lower(), str(response.status_code)))
        content = spec.get("content")
        if content is None:
            assert response.data == b"", f"{method} {template} {response.status_code} should have no body"
        elif "application/json" not in content:
            # File bytes: sent with the file's own sniffed type, one of those documented.
            assert response.mimetype in content, f"{method} {template} {response.status_code} {response.mimetype}"
        else:
            assert response.mimetype == "application/json"
            schema = content["application/json"]["schema"]
            errors = sorted(self.validator(schema).iter_errors(response.get_json()), key=str)
            assert not errors, f"{method} {template} {response.status_code}: " + "; ".join(
                f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in errors[:5]
            )
        for header in spec.get("headers", {}):
            assert header in response.headers, f"{method} {template} {response.status_code} lacks {header}"
        return response


def _flask_rule_to_template(rule: str) -> str:
    return re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule.removeprefix("/api/v1"))


def test_document_is_valid_openapi_31(document):
    assert document["openapi"].startswith("3.1")
    validate_spec(document)
    assert document["components"]["securitySchemes"]["bearerAuth"] == {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "pax_<43 characters>",
        "description": "A personal access token with scope read or write.",
    }


def test_document_is_served_without_a_token_and_is_plain_json(client, document):
    from app.api.openapi import DOCUMENT

    assert document == json.loads(json.dumps(DOCUMENT))
    assert "Authorization" not in client.get("/api/v1/openapi.json").headers.get("Vary", "")


def test_every_api_route_is_documented_and_every_documented_operation_exists(app, document):
    routes = {
        (_flask_rule_to_template(rule.rule), method.lower())
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith("/api/v1") and rule.endpoint != "api.unknown"
        for method in rule.methods - {"HEAD", "OPTIONS"}
    }
    documented = {
        (path, method) for path, item in document["paths"].items() for method in item if method in HTTP_METHODS
    }
    assert routes - documented == set(), "routes missing from the OpenAPI document"
    assert documented - routes == set(), "documented operations without a route"


def test_documented_scopes_are_the_ones_the_views_require(app, document):
    by_path_method = {}
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/api/v1") and rule.endpoint != "api.unknown":
            view = app.view_functions[rule.endpoint]
            for method in rule.methods - {"HEAD", "OPTIONS"}:
                by_path_method[(_flask_rule_to_template(rule.rule), method.lower())] = getattr(
                    view, "required_scope", None
                )
    for (path, method), scope in by_path_method.items():
        operation = document["paths"][path][method]
        if scope is None:
            assert operation["security"] == [], f"{method} {path} is public but documented as needing a token"
        else:
            assert "security" not in operation, f"{method} {path} needs a token"
            assert operation["x-required-scope"] == scope, f"{method} {path}"
            assert "401" in operation["responses"]


def test_every_referenced_schema_exists_and_every_schema_is_used(document):
    text = json.dumps(document)
    referenced = set(re.findall(r'"#/components/(?:schemas|responses)/([A-Za-z]+)"', text))
    defined = set(document["components"]["schemas"]) | set(document["components"]["responses"])
    assert referenced <= defined
    assert set(document["components"]["schemas"]) <= referenced


#: Tags whose operations are checked against real responses in their feature's own test module,
#: with the same ``Conformance`` checker and the same every-operation-succeeds assertion.
CHECKED_BY_FEATURE = {
    "workplan": "tests/test_workplan.py",
    "meetings": "tests/test_meetings_api.py",
    "packs": "tests/test_packs.py",
    "audit": "tests/test_audit_pages.py",
    "stats": "tests/test_stats.py",
}


def test_every_tag_has_a_conformance_check(document):
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    operations = [op for item in document["paths"].values() for m, op in item.items() if m in HTTP_METHODS]
    for tag in {t for op in operations for t in op["tags"]}:
        if tag in CHECKED_BY_FEATURE:
            source = (root / CHECKED_BY_FEATURE[tag]).read_text(encoding="utf-8")
            assert "Conformance(document)" in source, f"{tag}: no conformance check in {CHECKED_BY_FEATURE[tag]}"


def test_real_responses_match_the_documented_schemas(client, make, document):
    check = Conformance(document)
    author = make.user(clusters={CLUSTER: "coordinator", "policy": "reader"}, org_type="customs")
    write, read = bearer(author), bearer(author, "read")
    outsider = bearer(make.user(clusters={CLUSTER: "contributor"}))

    check.check(client.get("/api/v1/openapi.json"), "/openapi.json")
    check.check(client.get("/api/v1/me", headers=read), "/me")
    check.check(client.get("/api/v1/me"), "/me")
    check.check(client.get("/api/v1/me", headers={"Authorization": "Bearer pax_nope"}), "/me")
    check.check(client.get("/api/v1/clusters", headers=read), "/clusters")
    check.check(client.get("/api/v1/clusters"), "/clusters")

    created = [
        check.check(client.post("/api/v1/posts", json=payload, headers=write), "/posts", "POST").get_json()
        for payload in (
            best_practice(),
            incident_note(),
            incident_note(quantity_kg=None, vessel_imo=None, container_numbers=[]),
            best_practice(tlp="AMBER+STRICT", recipient_orgs=[author.organisation.name], law_enforcement_only=True),
            best_practice(tlp="RED", recipient_users=[author.email], tags=[]),
        )
    ]
    post_url = f"/api/v1/posts/{created[0]['id']}"
    for response in (
        client.post("/api/v1/posts", json=best_practice(tlp="PURPLE"), headers=write),
        client.post("/api/v1/posts", data="{", content_type="application/json", headers=write),
        client.post("/api/v1/posts", data="x", content_type="text/plain", headers=write),
        client.post("/api/v1/posts", json=best_practice(), headers=read),
        client.post("/api/v1/posts", json=best_practice(cluster="policy"), headers=write),
        client.post("/api/v1/posts", json=best_practice(body="a" * (3 * 1024 * 1024)), headers=write),
        client.post("/api/v1/posts", json=best_practice()),
    ):
        check.check(response, "/posts", "POST")

    for query in ("", "?per_page=2&page=2", f"?cluster={CLUSTER}&type=incident_note", "?q=container", "?tlp=RED"):
        check.check(client.get(f"/api/v1/posts{query}", headers=read), "/posts")
    check.check(client.get("/api/v1/posts?per_page=500&tlp=x", headers=read), "/posts")
    check.check(client.get("/api/v1/posts"), "/posts")

    check.check(client.get("/api/v1/search?q=container", headers=read), "/search")
    check.check(client.get("/api/v1/search?q=rip", headers=read), "/search")
    check.check(client.get("/api/v1/search", headers=read), "/search")
    check.check(client.get("/api/v1/search?q=x"), "/search")

    template = "/posts/{post_id}"
    for post in created:
        check.check(client.get(f"/api/v1/posts/{post['id']}", headers=read), template)
    check.check(client.get(f"/api/v1/posts/{created[4]['id']}", headers=outsider), template)
    check.check(client.get(post_url), template)

    check.check(client.patch(post_url, json={"title": "Renamed"}, headers=write), template, "PATCH")
    check.check(client.patch(post_url, json={"tlp": "PURPLE"}, headers=write), template, "PATCH")
    check.check(client.patch(post_url, data="[", content_type="application/json", headers=write), template, "PATCH")
    check.check(client.patch(post_url, data="x", content_type="text/plain", headers=write), template, "PATCH")
    check.check(client.patch(post_url, json={}, headers=read), template, "PATCH")
    check.check(client.patch(post_url, json={"title": "Mine"}, headers=outsider), template, "PATCH")
    check.check(client.patch(f"/api/v1/posts/{created[4]['id']}", json={}, headers=outsider), template, "PATCH")
    big = best_practice(body="a" * (3 * 1024 * 1024))
    check.check(client.patch(post_url, json=big, headers=write), template, "PATCH")
    check.check(client.patch(post_url, json={}), template, "PATCH")

    files = "/posts/{post_id}/attachments"
    upload_url = f"{post_url}/attachments"

    def upload(name: str, content: bytes, headers: dict[str, str]) -> Any:
        return client.post(
            upload_url, data={"file": (io.BytesIO(content), name)}, headers=headers, content_type="multipart/form-data"
        )

    attachment = check.check(upload("a.txt", b"attached text", write), files, "POST").get_json()
    check.check(upload("a.html", b"<html>", write), files, "POST")
    check.check(upload("a.txt", b"x", read), files, "POST")
    check.check(upload("a.txt", b"x", outsider), files, "POST")
    check.check(upload("a.txt", b"x", {}), files, "POST")
    check.check(client.post(upload_url, json={"file": "x"}, headers=write), files, "POST")
    one = "/attachments/{attachment_id}"
    file_url = f"/api/v1/attachments/{attachment['id']}"
    check.check(client.get(file_url, headers=read), one)
    check.check(client.get(file_url, headers={**read, "Range": "bytes=0-3"}), one)
    check.check(client.get(file_url, headers={**read, "Range": "bytes=500-"}), one)
    check.check(client.get(file_url, headers=outsider), one)
    check.check(client.get(file_url), one)
    check.check(client.patch(file_url, json={"description": "Scanned copy."}, headers=write), one, "PATCH")
    check.check(client.patch(file_url, json={"display_name": "b.html"}, headers=write), one, "PATCH")
    check.check(client.patch(file_url, json={"description": "x"}, headers={**write, "If-Match": '"v1"'}), one, "PATCH")
    check.check(client.patch(file_url, json={"description": "x"}, headers=outsider), one, "PATCH")
    check.check(client.delete(file_url, headers=read), one, "DELETE")
    check.check(client.delete(file_url, headers=write), one, "DELETE")
    check.check(client.delete(file_url, headers=write), one, "DELETE")

    check.check(client.delete(post_url, headers=outsider), template, "DELETE")
    check.check(client.delete(post_url, headers=read), template, "DELETE")
    check.check(client.delete(post_url), template, "DELETE")
    check.check(client.delete(post_url, headers=write), template, "DELETE")
    check.check(client.delete(post_url, headers=write), template, "DELETE")

    documented_operations = {
        (path, method)
        for path, item in document["paths"].items()
        for method, operation in item.items()
        if method in HTTP_METHODS and not set(operation["tags"]) & set(CHECKED_BY_FEATURE)
    }
    assert {(path, method) for path, method, _status in check.seen} == documented_operations
    success = {(p, m) for p, m, s in check.seen if s.startswith("2")}
    assert success == documented_operations, "every operation was seen succeeding"


def test_rate_limited_answers_match_the_document(config_factory):
    """The 429 a token guesser gets is the documented error, with Retry-After."""
    from app import create_app
    from app.api.openapi import DOCUMENT

    client = create_app(config_factory(RATELIMIT_ENABLED=True)).test_client()
    check = Conformance(json.loads(json.dumps(DOCUMENT)))
    statuses = []
    paths = ["/me", "/clusters", "/posts", "/search"]
    for n in range(31):  # spread over several routes: the counter is the API's, not a route's
        path = paths[n % len(paths)]
        response = client.get(f"/api/v1{path}", headers={"Authorization": "Bearer pax_guess"})
        statuses.append(response.status_code)
        check.check(response, path)
    assert statuses[:30] == [401] * 30 and statuses[30] == 429
    assert int(response.headers["Retry-After"]) > 0
    # The limit covers the whole API from that address, the public document included.
    assert check.check(client.get("/api/v1/openapi.json"), "/openapi.json").status_code == 429


# --- random input ---------------------------------------------------------------------------------
# Function-scoped fixtures run once per test, not per example: the examples share one account and
# add posts to the same tables, so the assertions compare counts before and after each request.


@pytest.fixture
def fuzz_headers(client, make) -> dict[str, str]:  # type: ignore[no-untyped-def]
    author = make.user(clusters={CLUSTER: "contributor", "policy": "contributor"})
    headers = bearer(author)
    create(client, headers, best_practice(tags=["seals"]))
    return headers


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3),
    max_leaves=8,
)


def _field(valid: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(valid, json_values)


post_bodies = st.fixed_dictionaries(
    {},
    optional={
        "type": _field(st.sampled_from(["best_practice", "incident_note", "deliverable"])),
        "cluster": _field(st.sampled_from([CLUSTER, "policy", "innovation"])),
        "title": _field(st.text(min_size=1, max_size=50)),
        "body": _field(st.text(min_size=1, max_size=200)),
        "tlp": _field(st.sampled_from(["CLEAR", "GREEN", "AMBER", "AMBER+STRICT", "RED"])),
        "law_enforcement_only": _field(st.booleans()),
        "tags": _field(st.lists(st.from_regex(r"[a-z0-9]{1,10}", fullmatch=True), max_size=3)),
        "recipient_orgs": _field(st.lists(st.text(max_size=10), max_size=2)),
        "incident": _field(
            st.fixed_dictionaries(
                {
                    "port_locode": _field(st.sampled_from(["BEANR", "NLRTM", "DEHAM"])),
                    "occurred_on": _field(st.dates().map(lambda d: d.isoformat())),
                    "modus_operandi": _field(st.sampled_from(["drone", "other"])),
                    "substance": _field(st.sampled_from(["cocaine", "none"])),
                },
                optional={
                    "quantity_kg": _field(st.floats(min_value=0, max_value=1e7)),
                    "container_numbers": _field(st.lists(st.text(max_size=12), max_size=2)),
                    "vessel_imo": _field(st.text(max_size=10)),
                },
            )
        ),
    },
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=post_bodies)
def test_random_post_bodies_get_a_documented_answer(client, fuzz_headers, document, body):
    check = Conformance(document)
    before = post_count()
    response = check.check(client.post("/api/v1/posts", json=body, headers=fuzz_headers), "/posts", "POST")
    assert post_count() == before + (1 if response.status_code == 201 else 0)


query_values = st.one_of(
    st.text(max_size=12),
    st.sampled_from(["0", "1", "100", "101", "-1", "AMBER+STRICT", "AMBER%2BSTRICT", CLUSTER, "seals", "%00"]),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    params=st.dictionaries(st.sampled_from(["page", "per_page", "cluster", "type", "tlp", "tag", "q"]), query_values)
)
def test_random_query_strings_get_a_documented_answer(client, fuzz_headers, document, params):
    check = Conformance(document)
    for path in ("/posts", "/search"):
        check.check(client.get(f"/api/v1{path}", query_string=params, headers=fuzz_headers), path)
