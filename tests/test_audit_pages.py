"""Reading the audit log: the page, its CSV export and ``GET /api/v1/audit`` for administrators and
auditors, filters (and hostile filter values: 422, never 500), and a member's page of who
accessed their organisation's items, which shows titles only through the policy."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from typing import Any

import pytest
import sqlalchemy as sa

from app.audit.models import AuditEvent
from app.audit.services import record
from app.extensions import db
from tests.test_api_openapi import Conformance
from tests.test_api_posts import bearer


@pytest.fixture
def document(client) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    return client.get("/api/v1/openapi.json").get_json()  # type: ignore[no-any-return]


@pytest.fixture
def log(make):  # type: ignore[no-untyped-def]
    """An auditor, an administrator, a member, and a small log of known events."""
    auditor = make.user(role="auditor", org_type="commission")
    admin = make.user(role="admin", org_type="commission")
    member = make.user()
    record("auth.login", actor=member, outcome="denied", reason="bad_credentials")
    record("auth.login", actor=member, target=("session", 1))
    record("post.create", actor=member, target=("post", 7), target_org=member.organisation_id)
    old = record("keys.rotate")
    old.at = datetime(2025, 3, 1, 12, tzinfo=UTC)
    record("test.formula", target=("thing", "=HYPERLINK(1)"))
    db.session.commit()
    return {"auditor": auditor, "admin": admin, "member": member}


def actions(page: Any) -> list[str]:
    return [row.event.action for row in page.items]


def test_filters_select_the_events_newest_first(log):
    from app.audit_log.queries import log_page, parse_filters

    auditor, member = log["auditor"], log["member"]

    def found(**args: str) -> list[str]:
        return actions(log_page(auditor, parse_filters(args)))

    assert found() == ["test.formula", "keys.rotate", "post.create", "auth.login", "auth.login"]
    assert found(action="auth.") == ["auth.login", "auth.login"]
    assert found(actor=member.email.upper()[:8]) == ["post.create", "auth.login", "auth.login"]
    assert found(organisation=str(member.organisation_id), outcome="denied") == ["auth.login"]
    assert found(target_type="post", target_id="7") == ["post.create"]
    assert found(to="2025-03-01") == ["keys.rotate"]
    assert found(**{"from": "2025-03-02"}) == ["test.formula", "post.create", "auth.login", "auth.login"]
    assert found(actor="nobody%") == []  # LIKE wildcards are literal


HOSTILE = [
    "organisation=99999999999999999999",
    "organisation=-1",
    "from=2026-13-45",
    "to=yesterday",
    "from=2026-12-02&to=2026-12-01",
    "action=" + "a" * 5000,
    "actor=" + "x" * 5000,
    "target_id=" + "1" * 5000,
    "target_type=POST;DROP",
    "outcome=maybe",
    "actor=%00",
]


def test_hostile_filter_values_are_form_errors_not_server_errors(client, log, new_client):
    browser, api = new_client(log["auditor"]), bearer(log["admin"], "read")
    for query in HOSTILE:
        page = browser.get(f"/audit/?{query}&page=99999999999999999999")
        assert page.status_code == 422, query
        assert "ecl-feedback-message" in page.get_data(as_text=True), query
        assert browser.get(f"/audit/export.csv?{query}").status_code == 422, query
        answer = client.get(f"/api/v1/audit?{query}", headers=api)
        assert answer.status_code == 422 and answer.get_json()["error"]["fields"], query
    assert client.get("/api/v1/audit?per_page=100000000000000000000", headers=api).status_code == 422


def test_the_page_and_its_export_for_auditors(log, new_client):
    browser = new_client(log["auditor"])
    page = browser.get(f"/audit/?action=auth.&actor={log['member'].email}").get_data(as_text=True)
    assert "of 2 events matching the filters" in page
    assert "Audit log" in browser.get("/clusters/").get_data(as_text=True)  # the menu entry
    assert "Audit log" not in new_client(log["member"]).get("/clusters/").get_data(as_text=True)
    export = browser.get("/audit/export.csv?target_type=thing")
    assert export.status_code == 200 and export.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(export.get_data(as_text=True).lstrip("\ufeff"))))
    assert rows[0][:3] == ["Sequence", "At (UTC)", "Action"]
    assert [(r[2], r[8]) for r in rows[1:]] == [("test.formula", "'=HYPERLINK(1)")]
    db.session.commit()
    exported = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "audit.export"))
    assert exported.actor_id == log["auditor"].id and exported.details == {"filters": ["target_type"], "rows": 1}
    member_page = new_client(log["member"]).get("/audit/")
    assert member_page.status_code == 403


def test_the_api_for_auditors_and_nothing_for_anyone_else(client, log, document):
    check = Conformance(document)
    admin, member = bearer(log["admin"], "read"), bearer(log["member"], "read")
    body = check.check(client.get("/api/v1/audit?action=post.&per_page=1", headers=admin), "/audit").get_json()
    assert body["total"] == 1 and body["page"] == 1 and body["per_page"] == 1
    item = body["items"][0]
    assert (item["action"], item["actor_email"], item["target_id"]) == ("post.create", log["member"].email, "7")
    check.check(client.get("/api/v1/audit?from=x", headers=admin), "/audit")
    check.check(client.get("/api/v1/audit"), "/audit")
    # A member learns nothing: the same refusal whatever the filters, valid or not.
    refusals = [client.get(f"/api/v1/audit?{q}", headers=member) for q in ("", "action=auth.", "from=x")]
    assert {r.status_code for r in refusals} == {403}
    assert len({r.data for r in refusals}) == 1
    check.check(refusals[0], "/audit")
    assert {(p, m) for p, m, s in check.seen if s.startswith("2")} == {("/audit", "get")}


def test_a_member_sees_who_accessed_their_organisations_items_and_nothing_else(make, client, new_client):
    from app.audit_log.queries import organisation_access_page
    from app.clusters.services import publish_post
    from app.clusters.validation import parse_post

    home = make.org()
    member = make.user(org=home, clusters={"policy": "contributor"})
    colleague = make.user(org=home, clusters={"policy": "contributor"})
    reader = make.user(clusters={"policy": "contributor"})

    def post(author: Any, tlp: str, title: str, **extra: Any) -> Any:
        data = {"type": "best_practice", "cluster": "policy", "title": title, "body": "B", "tlp": tlp, **extra}
        return publish_post(author, parse_post(data))

    amber = post(colleague, "AMBER", "Quay watch")
    red = post(colleague, "RED", "Named informant", recipient_users=[reader.email])
    elsewhere = post(reader, "AMBER", "Other organisation's note")
    db.session.commit()
    browser = new_client(reader)
    for item in (amber, red, elsewhere):
        assert browser.get(f"/posts/{item.id}").status_code == 200

    page = new_client(member).get("/organisation/access").get_data(as_text=True)
    table = page[page.index("<table") :]
    assert table.count("<tr") == 2  # the header and the access to the post the member may see
    assert reader.name in table and reader.organisation.name in table
    assert f'href="/posts/{amber.id}"' in table and "Quay watch" in table
    # Who read the colleague's RED post is not the member's to know: not even "Post N" is listed.
    assert f"Post {red.id}" not in table and "Named informant" not in table
    assert [row.event.target_id for row in organisation_access_page(colleague).items] == [str(red.id), str(amber.id)]
    assert "Other organisation" not in table

    # The other organisation sees only the access to its own post.
    outsider = organisation_access_page(reader)
    assert [row.event.target_id for row in outsider.items] == [str(elsewhere.id)]
