"""Notifications: who hears of new posts, meetings, overdue workplan items and accounts (always as
the policy decides), and the in-portal list, its unread count and the settings pages.

Mail delivery over a real SMTP server is in ``test_outbox.py``.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.notifications.models import DeliveryMode, MailState, Notification, OutboxMessage, Subscription
from tests.conftest import csrf_token_from

CLUSTER = "policy"
TITLE = "TITLE-MARKER-7f3a"
BODY = "BODY-MARKER-91c2"


def publish(author: Any, tlp: str = "GREEN", **fields: Any) -> Any:
    from app.clusters.services import publish_post
    from app.clusters.validation import parse_post

    raw = {"type": "best_practice", "cluster": CLUSTER, "title": TITLE, "body": BODY, "tlp": tlp, **fields}
    post = publish_post(author, parse_post(raw))
    db.session.commit()
    return post


def follow(user: Any, mode: DeliveryMode | None, slug: str = CLUSTER) -> None:
    from app.clusters.services import cluster_by_slug
    from app.notifications.services import set_subscription

    set_subscription(user, cluster_by_slug(slug), mode)
    db.session.commit()


def fresh() -> None:
    """Forget what this test's session holds: requests and commands wrote in their own sessions."""
    db.session.rollback()
    db.session.expire_all()


def told(user: Any, kind: str) -> list[Notification]:
    fresh()
    return list(
        db.session.scalars(
            sa.select(Notification)
            .where(Notification.user_id == user.id, Notification.kind == kind)
            .order_by(Notification.id)
        )
    )


def mails_to(user: Any) -> list[OutboxMessage]:
    return list(db.session.scalars(sa.select(OutboxMessage).where(OutboxMessage.user_id == user.id)))


# --- new posts -------------------------------------------------------------------------------------


def test_new_posts_reach_subscribers_in_their_mode_and_only_when_they_may_see_them(make):
    author = make.user(clusters={CLUSTER: "contributor"})
    immediate = make.user(clusters={CLUSTER: "reader"})
    daily = make.user(clusters={CLUSTER: "reader"})
    not_following = make.user(clusters={CLUSTER: "reader"})
    outsider = make.user()  # follows the cluster without being a member of it
    police = make.user(org_type="police", clusters={CLUSTER: "reader"})
    for user in (author, immediate, outsider, police):
        follow(user, DeliveryMode.IMMEDIATE)
    follow(daily, DeliveryMode.DAILY)

    green = publish(author, "GREEN")
    amber = publish(author, "AMBER")
    red = publish(author, "RED")
    le_only = publish(author, "GREEN", law_enforcement_only=True)

    def posts(user: Any) -> list[int]:
        return [n.target_id for n in told(user, "post.new")]

    assert posts(immediate) == [green.id, amber.id]
    assert posts(daily) == [green.id, amber.id]
    assert posts(outsider) == [green.id]  # AMBER is for the cluster's members
    assert posts(police) == [green.id, amber.id, le_only.id]
    assert posts(not_following) == [] and posts(author) == []
    assert red.id not in posts(immediate) + posts(police)

    # Immediate subscribers get a mail per item at once; daily ones wait for the digest.
    assert [n.mail_state for n in told(immediate, "post.new")] == [MailState.QUEUED] * 2
    assert len(mails_to(immediate)) == 2
    assert [n.mail_state for n in told(daily, "post.new")] == [MailState.DIGEST] * 2
    assert mails_to(daily) == [] and mails_to(author) == []
    assert {n.tlp for n in told(immediate, "post.new")} == {"GREEN", "AMBER"}


# --- meetings --------------------------------------------------------------------------------------


def _meeting_data(**overrides: Any) -> Any:
    from app.meetings.validation import parse_meeting
    from tests.test_meetings import technical

    return parse_meeting(technical(**overrides))


def test_meeting_invitations_and_changes_go_to_its_audience_never_the_organiser(make):
    from app.meetings.services import schedule_meeting, update_meeting

    curator = make.user(role="curator", org_type="commission", clusters={CLUSTER: "reader"})
    member = make.user(clusters={CLUSTER: "reader"})
    named = make.user()
    partner_org = make.org("customs")
    partner = make.user(org=partner_org)
    make.user(org=partner_org, status="pending")
    stranger = make.user()
    fields = {"recipient_users": [named.email], "recipient_orgs": [partner_org.name]}

    meeting = schedule_meeting(curator, _meeting_data(**fields))
    db.session.commit()
    for user in (member, named, partner):
        assert [n.target_id for n in told(user, "meeting.invitation")] == [meeting.id]
    assert told(curator, "meeting.invitation") == [] and told(stranger, "meeting.invitation") == []
    assert len(mails_to(member)) == 1

    update_meeting(curator, meeting, _meeting_data(title="Renamed", **fields))
    db.session.commit()
    assert told(member, "meeting.changed") == []  # the title is not what invitees are told about

    update_meeting(curator, meeting, _meeting_data(title="Renamed", location="Antwerp, port house", **fields))
    db.session.commit()
    for user in (member, named, partner):
        assert len(told(user, "meeting.changed")) == 1
        assert len(told(user, "meeting.invitation")) == 1
    assert told(curator, "meeting.changed") == [] and told(stranger, "meeting.changed") == []

    # AMBER+STRICT: only the organiser's and the named organisations see it, so only they are invited.
    strict = schedule_meeting(curator, _meeting_data(tlp="AMBER+STRICT", **fields))
    db.session.commit()
    assert strict.id in [n.target_id for n in told(partner, "meeting.invitation")]
    assert strict.id not in [n.target_id for n in told(member, "meeting.invitation")]
    assert strict.id not in [n.target_id for n in told(named, "meeting.invitation")]


# --- the workplan ----------------------------------------------------------------------------------


def test_overdue_items_notify_lead_focal_points_and_coordinators_once(make, runner):
    from app.clusters.services import cluster_by_slug
    from app.workplan.models import ItemStatus, WorkplanItem, WorkplanItemLead
    from app.workplan.services import workplan_of

    lead_org = make.org()
    focal = make.user(org=lead_org, focal_point=True)
    colleague = make.user(org=lead_org)
    coordinator = make.user(clusters={CLUSTER: "coordinator"})
    cluster, workplan = cluster_by_slug(CLUSTER), workplan_of(2026)
    late = WorkplanItem(workplan=workplan, cluster=cluster, title="Late", due_date=date(2026, 3, 1))
    done = WorkplanItem(
        workplan=workplan, cluster=cluster, title="Done", due_date=date(2026, 3, 1), status=ItemStatus.DELIVERED
    )
    late.leads = [WorkplanItemLead(organisation_id=lead_org.id)]
    done.leads = [WorkplanItemLead(organisation_id=lead_org.id)]
    db.session.add_all([late, done])
    db.session.commit()

    assert "0 people newly notified" in runner.invoke(args=["notifications", "overdue", "--today", "2026-03-01"]).output
    for _ in range(2):
        result = runner.invoke(args=["notifications", "overdue", "--today", "2026-03-02"])
        assert result.exit_code == 0, result.output
    for user in (focal, coordinator):
        assert [(n.target_type, n.target_id) for n in told(user, "workplan.overdue")] == [("workplan_item", late.id)]
    assert told(colleague, "workplan.overdue") == []
    assert runner.invoke(args=["notifications", "overdue", "--today", "tomorrow"]).exit_code == 2


# --- accounts --------------------------------------------------------------------------------------


@pytest.mark.committed_db
def test_pending_account_tells_approvers_and_approval_tells_the_person(make, client, login_as):
    from app.auth.sso import add_provider, resolve_sso_user

    org = make.org()
    focal = make.user(org=org, focal_point=True)
    other_focal = make.user(focal_point=True)
    admin = make.user(role="admin", org_type="commission")
    provider = add_provider(org, "Org SSO", "http://127.0.0.1:9", "pax", "secret")
    pending = resolve_sso_user(provider, {"sub": "s-1", "email": f"new@{org.email_domains[0]}", "name": "New"}).user
    db.session.commit()

    for approver in (focal, admin):
        [notice] = told(approver, "account.pending")
        assert (notice.target_type, notice.target_id) == ("user", pending.id)
    assert told(other_focal, "account.pending") == []

    login_as(focal)
    page = client.get("/notifications/").get_data(as_text=True)
    assert 'href="/admin/approvals"' in page and "New" in page  # focal points approve there
    token = csrf_token_from(client.get("/admin/approvals").get_data(as_text=True))
    assert client.post(f"/admin/approvals/{pending.id}/approve", data={"csrf_token": token}).status_code == 302

    [approved] = told(pending, "account.approved")
    assert approved.mail_state is MailState.QUEUED
    [mail] = mails_to(pending)
    assert mail.to_address == pending.email and "approved" in mail.subject
    # Once decided, the approvers' notice no longer names the account.
    assert "An item you can no longer see" in client.get("/notifications/").get_data(as_text=True)


# --- the in-portal list ----------------------------------------------------------------------------


@pytest.mark.committed_db
def test_list_shows_titles_only_while_visible_and_marks_read(make, client, login_as, new_client):
    from app.clusters.services import edit_post
    from app.clusters.validation import parse_post

    author = make.user(clusters={CLUSTER: "contributor"})
    reader = make.user(clusters={CLUSTER: "reader"})
    follow(reader, DeliveryMode.IMMEDIATE)
    first = publish(author, "GREEN")
    publish(author, "GREEN", title="Second shared item")

    login_as(reader)
    page = client.get("/notifications/").get_data(as_text=True)
    assert TITLE in page and f'href="/posts/{first.id}"' in page and "Second shared item" in page
    assert "Notifications (2)" in page and page.count("Mark as read") == 2

    # The author tightens the marking: the reader keeps the notification but loses the title and link.
    raw = {"type": "best_practice", "cluster": CLUSTER, "title": TITLE, "body": BODY, "tlp": "RED"}
    edit_post(author, first, parse_post(raw))
    db.session.commit()
    page = client.get("/notifications/").get_data(as_text=True)
    assert TITLE not in page and f'href="/posts/{first.id}"' not in page
    assert "An item you can no longer see" in page and "Second shared item" in page

    [first_notice, second_notice] = told(reader, "post.new")
    token = csrf_token_from(page)
    response = client.post("/notifications/read", data={"csrf_token": token, "notification_id": second_notice.id})
    assert response.status_code == 302
    page = client.get("/notifications/").get_data(as_text=True)
    assert "Notifications (1)" in page and page.count("Mark as read") == 1
    assert told(reader, "post.new")[1].read_at is not None and told(reader, "post.new")[0].read_at is None

    # Someone else's notification is not there for this reader.
    stranger = new_client(make.user())
    stranger_token = csrf_token_from(stranger.get("/notifications/").get_data(as_text=True))
    data = {"csrf_token": stranger_token, "notification_id": first_notice.id}
    assert stranger.post("/notifications/read", data=data).status_code == 404
    assert client.post("/notifications/read", data={"notification_id": first_notice.id}).status_code == 400  # no CSRF

    assert client.post("/notifications/read-all", data={"csrf_token": token}).status_code == 302
    page = client.get("/dashboard").get_data(as_text=True)
    assert "Notifications (" not in page and ">Notifications<" in page
    assert all(n.read_at is not None for n in told(reader, "post.new"))


@pytest.mark.committed_db
def test_settings_and_follow_control_save_subscriptions(make, client, login_as):
    member = make.user(clusters={CLUSTER: "reader"})
    login_as(member)

    def modes() -> dict[str, str]:
        from app.clusters.models import Cluster

        fresh()
        rows = db.session.execute(
            sa.select(Cluster.slug, Subscription.mode).join(Cluster).where(Subscription.user_id == member.id)
        )
        return {slug: mode.value for slug, mode in rows}

    page = client.get("/notifications/settings").get_data(as_text=True)
    assert page.count('type="radio"') == 12 and 'name="cluster-policy"' in page
    token = csrf_token_from(page)
    data = {"csrf_token": token, "cluster-policy": "daily", "cluster-innovation": "immediate"}
    response = client.post("/notifications/settings", data=data, follow_redirects=True)
    assert "Your notification settings are saved." in response.get_data(as_text=True)
    assert modes() == {"policy": "daily", "innovation": "immediate"}

    bad = client.post("/notifications/settings", data={"csrf_token": token, "cluster-policy": "hourly"})
    assert bad.status_code == 422 and "Choose nothing, immediately or daily digest." in bad.get_data(as_text=True)
    assert modes() == {"policy": "daily", "innovation": "immediate"}

    client.post("/notifications/settings", data={"csrf_token": token, "cluster-policy": "none"})
    assert modes() == {"innovation": "immediate"}

    cluster_page = client.get(f"/clusters/{CLUSTER}").get_data(as_text=True)
    assert "Follow this cluster" in cluster_page
    client.post(f"/notifications/follow/{CLUSTER}", data={"csrf_token": token, "mode": "immediate"})
    assert modes() == {"innovation": "immediate", "policy": "immediate"}
    assert "Stop following" in client.get(f"/clusters/{CLUSTER}").get_data(as_text=True)
