"""Who may do what to the workplan: every role x every action x every channel, from one table.

Channels are the services (called directly), the pages (a signed-in browser) and the API (a
bearer token). Write actions are judged by their effect in the database, reads by the answer;
every refusal must be the right one (403 for an active account, the sign-in page or 401 for an
account that is no longer active) and nothing may answer 500.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.policy import NotAllowed
from tests.conftest import csrf_token_from, sign_in
from tests.test_api_posts import bearer

ROLES = [
    "curator",
    "coordinator",
    "other_coordinator",
    "contributor",
    "reader",
    "focal_point",
    "admin",
    "auditor",
    "pending",
    "suspended",
]
ACTIVE = frozenset(ROLES) - {"pending", "suspended"}
CURATORS = frozenset({"curator"})
UPDATERS = frozenset({"curator", "coordinator"})

#: The one table: who may do each action (on an item of the policy cluster).
ALLOWED: dict[str, frozenset[str]] = {
    "create_item": CURATORS,
    "edit_title": CURATORS,
    "edit_description": CURATORS,
    "edit_leads": CURATORS,
    "edit_due_date": CURATORS,
    "change_status": UPDATERS,
    "change_progress": UPDATERS,
    "adopt": CURATORS,
    "view_workplan": ACTIVE,
    "view_item": ACTIVE,
    "view_timeline": ACTIVE,
    "view_print": ACTIVE,
    "export_csv": ACTIVE,
    "export_xlsx": ACTIVE,
}
#: field, new value (as the API and services take it), and as stored for the effect check.
EDITS: dict[str, tuple[str, Any]] = {
    "edit_title": ("title", "A new title"),
    "edit_description": ("description", "A new description."),
    "edit_leads": ("lead_organisations", "LEAD_B"),
    "edit_due_date": ("due_date", "2026-11-30"),
    "change_status": ("status", "delivered"),
    "change_progress": ("progress", 55),
}
WRITES = [*EDITS, "create_item", "adopt"]
READS = ["view_workplan", "view_item", "view_timeline", "view_print", "export_csv", "export_xlsx"]
CHANNEL_ACTIONS = {
    "service": WRITES,
    "page": [*WRITES, *READS],
    "api": [*EDITS, "create_item", "view_workplan", "view_item"],
}


class World:
    """A 2026 policy-cluster item with one lead organisation, another organisation, and the role's account."""

    def __init__(self, make: Any, role: str) -> None:
        from app.clusters.models import Cluster
        from app.workplan.models import ItemStatus, WorkplanItem, WorkplanItemLead
        from app.workplan.services import workplan_of

        self.lead_a = make.org("port_authority")
        self.lead_b = make.org("customs")
        policy = db.session.scalar(sa.select(Cluster).where(Cluster.slug == "policy"))
        self.item = WorkplanItem(
            workplan=workplan_of(2026),
            cluster=policy,
            title="Sample item",
            description="",
            due_date=date(2026, 3, 1),
            status=ItemStatus.PLANNED,
            progress=10,
        )
        self.item.leads = [WorkplanItemLead(organisation=self.lead_a)]
        db.session.add(self.item)
        db.session.commit()
        self.item_id = self.item.id
        self.user = self._account(make, role)

    @staticmethod
    def _account(make: Any, role: str) -> Any:
        if role in ("curator", "admin", "auditor"):
            return make.user(role=role, org_type="commission")
        if role == "coordinator":
            return make.user(clusters={"policy": "coordinator"})
        if role == "other_coordinator":
            return make.user(clusters={"innovation": "coordinator"})
        if role == "reader":
            return make.user(clusters={"policy": "reader"})
        if role == "focal_point":
            return make.user(focal_point=True)
        return make.user(clusters={"policy": "contributor"})

    def new_value(self, action: str) -> Any:
        _field, value = EDITS[action]
        return [self.lead_b.name] if value == "LEAD_B" else value

    def snapshot(self) -> dict[str, Any]:
        """What the effect checks look at, read fresh from the database."""
        from app.workplan.models import Workplan, WorkplanItem

        db.session.commit()
        db.session.expire_all()
        item = db.session.get(WorkplanItem, self.item_id)
        assert item is not None
        return {
            "title": item.title,
            "description": item.description,
            "lead_organisations": sorted(o.name for o in item.lead_organisations),
            "due_date": item.due_date.isoformat() if item.due_date else None,
            "status": item.status.value,
            "progress": item.progress,
            "items": db.session.scalar(sa.select(sa.func.count(WorkplanItem.id))),
            "adopted": db.session.scalar(sa.select(Workplan.status).where(Workplan.year == 2026)).value,
        }

    def changed(self, action: str, before: dict[str, Any], after: dict[str, Any]) -> bool:
        if action == "create_item":
            return after["items"] == before["items"] + 1
        if action == "adopt":
            return after["adopted"] == "adopted"
        field = EDITS[action][0]
        expected = self.new_value(action)
        return after[field] == expected and before[field] != expected

    def form_data(self, snapshot: dict[str, Any], **changes: Any) -> dict[str, Any]:
        """The full item form as a browser sends it (a curator's form has every field)."""
        data = {
            "year": "2026",
            "cluster": "policy",
            "title": snapshot["title"],
            "description": snapshot["description"],
            "lead_organisations": snapshot["lead_organisations"],
            "due_date": snapshot["due_date"] or "",
            "status": snapshot["status"],
            "progress": str(snapshot["progress"]),
        }
        data.update({k: (str(v) if isinstance(v, int) else v) for k, v in changes.items()})
        return data


def _deactivate(user: Any, role: str) -> None:
    from app.auth.models import User, UserStatus

    if role in ("pending", "suspended"):
        db.session.execute(sa.update(User).where(User.id == user.id).values(status=UserStatus(role)))
        db.session.commit()


def _service(world: World, action: str) -> None:
    from app.validation import ValidationError
    from app.workplan import services
    from app.workplan.models import Workplan, WorkplanItem
    from app.workplan.validation import parse_item

    user = world.user
    try:
        if action == "create_item":
            services.create_item(
                user, parse_item({"year": 2026, "cluster": "policy", "title": "Created"}, creating=True)
            )
        elif action == "adopt":
            workplan = db.session.scalar(sa.select(Workplan).where(Workplan.year == 2026))
            services.adopt_workplan(user, workplan, None, date(2026, 2, 1))
        else:
            field = EDITS[action][0]
            item = db.session.get(WorkplanItem, world.item_id)
            services.update_item(user, item, parse_item({field: world.new_value(action)}, creating=False))
        db.session.commit()
    except (NotAllowed, ValidationError):
        db.session.rollback()


PAGE_READS = {
    "view_workplan": "/workplan/2026",
    "view_item": "/workplan/items/{id}",
    "view_timeline": "/workplan/2026/timeline",
    "view_print": "/workplan/2026/print",
    "export_csv": "/workplan/2026/export.csv",
    "export_xlsx": "/workplan/2026/export.xlsx",
}


def _page(world: World, client: Any, action: str, csrf: str, before: dict[str, Any]) -> int:
    if action in PAGE_READS:
        return client.get(PAGE_READS[action].format(id=world.item_id)).status_code
    if action == "create_item":
        data = world.form_data(before, title="Created")
        return client.post("/workplan/items/new", data={**data, "csrf_token": csrf}).status_code
    if action == "adopt":
        data = {"meeting_id": "", "adopted_on": "2026-02-01", "action": "adopt", "csrf_token": csrf}
        return client.post("/workplan/2026/adopt", data=data).status_code
    field = EDITS[action][0]
    data = world.form_data(before, **{field: world.new_value(action)})
    return client.post(f"/workplan/items/{world.item_id}/edit", data={**data, "csrf_token": csrf}).status_code


def _api(world: World, client: Any, action: str, headers: dict[str, str]) -> int:
    if action == "view_workplan":
        return client.get("/api/v1/workplan?year=2026", headers=headers).status_code
    if action == "view_item":
        return client.get(f"/api/v1/workplan/items/{world.item_id}", headers=headers).status_code
    if action == "create_item":
        body = {"year": 2026, "cluster": "policy", "title": "Created", "lead_organisations": [world.lead_a.name]}
        return client.post("/api/v1/workplan/items", json=body, headers=headers).status_code
    field = EDITS[action][0]
    payload = {field: world.new_value(action)}
    return client.patch(f"/api/v1/workplan/items/{world.item_id}", json=payload, headers=headers).status_code


@pytest.mark.parametrize("channel", list(CHANNEL_ACTIONS))
@pytest.mark.parametrize("role", ROLES)
def test_workplan_rights(app, make, role, channel):
    world = World(make, role)
    client = app.test_client()
    csrf, headers = "", {}
    if channel == "page":
        sign_in(client, make, world.user)
        csrf = csrf_token_from(client.get("/account/").get_data(as_text=True))
    if channel == "api":
        headers = bearer(world.user, "write")
    _deactivate(world.user, role)

    wrong = []
    for action in CHANNEL_ACTIONS[channel]:
        allowed = role in ALLOWED[action]
        before = world.snapshot()
        status = None
        if channel == "service":
            _service(world, action)
        elif channel == "page":
            status = _page(world, client, action, csrf, before)
        else:
            status = _api(world, client, action, headers)
        after = world.snapshot()
        where = f"{role} {action} via {channel}: {status}"
        if status == 500:
            wrong.append(where)
            continue
        if action in READS or action in ("view_workplan", "view_item"):
            done = status == 200
        else:
            done = world.changed(action, before, after)
            if not allowed and before != after:
                wrong.append(f"{where} changed {before} -> {after}")
        if done != allowed:
            wrong.append(f"{where}: expected {'allowed' if allowed else 'refused'}")
        if not allowed and status is not None:
            if role not in ACTIVE:
                expected = (302,) if channel == "page" else (401,)
            elif channel == "api":
                expected = (403,)
            elif role == "coordinator":
                # The coordinator's form only carries status and progress: other fields are not sent.
                expected = (302, 403)
            else:
                expected = (403,)
            if status not in expected:
                wrong.append(f"{where}: expected status {expected}")
        # Put the item back so the next action starts from the same state.
        if allowed and action in EDITS:
            _restore(world)
    assert wrong == []


def _restore(world: World) -> None:
    from app.workplan.models import ItemStatus, WorkplanItem, WorkplanItemLead

    db.session.commit()
    item = db.session.get(WorkplanItem, world.item_id)
    assert item is not None
    item.title, item.description, item.due_date = "Sample item", "", date(2026, 3, 1)
    item.status, item.progress = ItemStatus.PLANNED, 10
    kept = [lead for lead in item.leads if lead.organisation_id == world.lead_a.id]
    item.leads = kept or [WorkplanItemLead(organisation_id=world.lead_a.id)]
    db.session.commit()


def test_the_table_covers_every_workplan_route(app):
    """A new workplan page or API operation must be added to the table above."""
    covered = {
        "workplan.index",
        "workplan.year",
        "workplan.timeline_view",
        "workplan.print_view",
        "workplan.export_csv",
        "workplan.export_xlsx",
        "workplan.item",
        "workplan.new_item",
        "workplan.edit_item",
        "workplan.adopt",
        "api.workplan",
        "api.workplan_item",
        "api.create_workplan_item",
        "api.update_workplan_item",
    }
    endpoints = {r.endpoint for r in app.url_map.iter_rules()}
    assert {e for e in endpoints if e.startswith("workplan.") or "workplan" in e} == covered
