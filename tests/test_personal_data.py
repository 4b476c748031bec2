"""Personal data: a member's export holds their own data and no secret; an administrator's
erasure leaves nobody able to sign in as the departed user while their organisation keeps what
they shared, and the audit chain still verifies."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
import sqlalchemy as sa

from app.audit.chain import audit_key, verify
from app.audit.models import AuditEvent
from app.auth.models import ApiToken, Identity, RecoveryCode, User, UserSession, UserStatus
from app.clusters.models import ClusterMembership, PostRecipientUser
from app.extensions import db
from app.notifications.models import DeliveryMode, Notification, Subscription
from app.privacy.erasure import ERASED_NAME
from tests.conftest import TEST_PASSWORD, csrf_token_from, login
from tests.test_posts_pages import publish


def identity(user: User, subject: str) -> Identity:
    from app.auth.sso import add_provider

    provider = add_provider(user.organisation, "Org SSO", "http://127.0.0.1:9", "pax", "client-secret")
    row = Identity(user_id=user.id, provider_id=provider.id, subject=subject)
    db.session.add(row)
    db.session.commit()
    return row


@pytest.fixture
def departed(make: Any) -> dict[str, Any]:
    """A member with everything PAX can hold about someone, and a colleague of another
    organisation in the same cluster."""
    from app.auth.tokens import create_token
    from app.clusters.models import Cluster
    from app.clusters.services import add_comment

    user = make.user(clusters={"policy": "contributor"})
    totp = make.enrol_mfa(user)
    token, secret = create_token(user, "ci pipeline", "read", 30)
    post = publish(user, title="Amber gate note", tlp="AMBER")
    add_comment(user, post, "Seen at gate 4.")
    policy = db.session.scalar(sa.select(Cluster).where(Cluster.slug == "policy"))
    db.session.add(Subscription(user_id=user.id, cluster_id=policy.id, mode=DeliveryMode.DAILY))
    db.session.add(Notification(user_id=user.id, kind="post.new", target_type="post", target_id=post.id))
    db.session.commit()
    other = make.user(clusters={"policy": "reader"})
    other_token, other_secret = create_token(other, "other pipeline", "read", 30)
    other_post = publish(make.user(clusters={"policy": "contributor"}), title="Someone else's note")
    red = publish(other_post.author, title="Red note", tlp="RED", recipient_users=[user.email])
    db.session.commit()
    return {
        "user": user,
        "email": user.email,
        "name": user.name,
        "totp": totp,
        "token": token,
        "secret": secret,
        "post": post,
        "red": red,
        "other": other,
        "other_token": other_token,
        "other_secret": other_secret,
        "other_post": other_post,
    }


def test_export_holds_the_members_own_data_and_no_secret(departed, make, new_client, client):
    user, other = departed["user"], departed["other"]
    browser = new_client(user)
    new_client(other)
    ident = identity(user, "sub-4711")

    response = browser.get("/account/data.json")
    assert response.status_code == 200
    assert response.headers["Content-Disposition"].startswith("attachment; filename=")
    assert response.headers["Cache-Control"] == "no-store"
    raw = response.get_data(as_text=True)
    data = json.loads(raw)

    assert data["account"]["email"] == user.email and data["organisation"]["name"] == user.organisation.name
    assert [p["id"] for p in data["posts"]] == [departed["post"].id]
    assert data["posts"][0]["title"] == "Amber gate note" and data["posts"][0]["tlp"] == "AMBER"
    assert len(data["comments"]) == 1 and data["comments"][0]["post_id"] == departed["post"].id
    assert data["memberships"] == [
        {"cluster": "policy", "role": "contributor", "since": data["memberships"][0]["since"]}
    ]
    assert [t["name"] for t in data["tokens"]] == ["ci pipeline"]
    assert data["identities"][0]["provider"] == "Org SSO" and data["identities"][0]["subject"] == ident.subject
    assert data["sessions"] and data["subscriptions"][0]["mode"] == "daily"
    assert {"type": "post", "id": departed["post"].id} in [n["target"] for n in data["notifications"]]
    assert data["named_recipient_of"]["posts"] == [departed["red"].id]
    own_events = set(db.session.scalars(sa.select(AuditEvent.seq).where(AuditEvent.actor_id == user.id)))
    exported = {e["seq"] for e in data["audit_events"]}
    assert exported and exported <= own_events

    # Nothing of another member, and no secret of this one.
    for foreign in (other.email, departed["other_token"].prefix, "Someone else's note"):
        assert foreign not in raw
    session_hashes = db.session.scalars(sa.select(UserSession.token_hash).where(UserSession.user_id == user.id))
    recovery = db.session.scalars(sa.select(RecoveryCode.code_hash).where(RecoveryCode.user_id == user.id))
    secrets = [TEST_PASSWORD, departed["secret"], departed["token"].token_hash, departed["totp"], *make.mfa[user.id][1]]
    secrets += [user.password_hash, user.totp_secret_sealed, *session_hashes, *recovery]
    for secret in secrets:
        assert secret and secret not in raw

    event = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "account.data_export"))
    assert event.actor_id == user.id and event.details == {}

    anonymous = client.get("/account/data.json")
    assert anonymous.status_code == 302 and anonymous.headers["Location"].startswith("/login")


def erase_page(browser: Any, user_id: int) -> str:
    page = browser.get(f"/admin/users/{user_id}/erase")
    assert page.status_code == 200
    return page.get_data(as_text=True)


@pytest.mark.committed_db
def test_erasure_removes_every_way_in_and_keeps_the_organisations_post(departed, make, new_client, app):
    from app.api.posts import post_summary_json
    from app.auth.sso import resolve_sso_user

    user, post = departed["user"], departed["post"]
    provider = identity(user, "sub-4711").provider
    org_name = user.organisation.name
    new_client(user)  # a live session that must die
    admin = new_client(make.user(role="admin", org_type="commission"))
    page = erase_page(admin, user.id)
    token = csrf_token_from(page)
    assert departed["email"] in page

    # Hostile or wrong confirmations are form errors; nothing changes.
    for typed in ("someone@else.example", "x" * 5000, departed["email"] + "\x00", ""):
        refused = admin.post(f"/admin/users/{user.id}/erase", data={"csrf_token": token, "confirm_email": typed})
        assert refused.status_code == 422, typed[:40]
        assert "Nothing was erased" in refused.get_data(as_text=True)
    assert "someone@else.example" in admin.post(
        f"/admin/users/{user.id}/erase", data={"csrf_token": token, "confirm_email": "someone@else.example"}
    ).get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(User, user.id).erased_at is None

    done = admin.post(
        f"/admin/users/{user.id}/erase", data={"csrf_token": token, "confirm_email": f"  {departed['email'].upper()} "}
    )
    assert done.status_code == 302
    # Erased once: no second erasure, no reactivation of an account that holds nobody.
    assert admin.get(f"/admin/users/{user.id}/erase").status_code == 404
    assert admin.post(f"/admin/users/{user.id}/reactivate", data={"csrf_token": token}).status_code == 404
    db.session.expire_all()
    erased = db.session.get(User, user.id)
    assert (erased.name, erased.email, erased.status) == (
        ERASED_NAME,
        f"erased-{user.id}@erased.invalid",
        UserStatus.SUSPENDED,
    )
    assert erased.password_hash is None and erased.totp_secret_sealed is None and erased.erased_at is not None
    for model in (
        UserSession,
        ApiToken,
        Identity,
        RecoveryCode,
        ClusterMembership,
        PostRecipientUser,
        Subscription,
        Notification,
    ):
        assert db.session.scalar(sa.select(sa.func.count()).where(model.user_id == user.id)) == 0, model

    # No way back in: password, token, SSO identity.
    stranger = app.test_client()
    login(stranger, departed["email"], TEST_PASSWORD)
    assert stranger.get("/account/").headers["Location"].startswith("/login")
    assert stranger.get("/api/v1/me", headers={"Authorization": f"Bearer {departed['secret']}"}).status_code == 401
    sso = resolve_sso_user(provider, {"sub": "sub-4711", "email": departed["email"], "email_verified": True})
    assert sso.user.id != user.id and sso.created
    db.session.rollback()

    # The post stays for its audience, shared by the organisation; the comment is the erased row's.
    reader = new_client(departed["other"])
    shown = reader.get(f"/posts/{post.id}")
    assert shown.status_code == 200
    html = shown.get_data(as_text=True)
    assert org_name in html and ERASED_NAME in html
    assert not re.search(rf"{departed['name']}\b", html)
    api = reader.get(f"/api/v1/posts/{post.id}", headers={"Authorization": f"Bearer {departed['other_secret']}"})
    assert api.status_code == 200 and api.get_json()["author"] is None and api.get_json()["organisation"] == org_name
    db.session.expire_all()
    assert post_summary_json(db.session.get(type(post), post.id))["author"] is None

    with db.engine.connect() as connection:
        assert verify(connection, audit_key(db.engine)).ok
    event = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "user.erase"))
    assert event.target_id == str(user.id) and event.actor_id is not None
    assert departed["email"] not in json.dumps(event.details)


def test_erasure_is_refused_to_members_for_oneself_and_for_administrators(departed, make, new_client, runner):
    user = departed["user"]
    member = new_client(departed["other"])
    assert member.get(f"/admin/users/{user.id}/erase").status_code in (403, 404)
    admin_user = make.user(role="admin", org_type="commission")
    admin = new_client(admin_user)
    assert admin.get(f"/admin/users/{admin_user.id}/erase").status_code == 404

    colleague = make.user(role="admin", org_type="commission")
    page = erase_page(admin, colleague.id)
    assert "change its role first" in page
    token = csrf_token_from(admin.get(f"/admin/users/{user.id}/erase").get_data(as_text=True))
    refused = admin.post(
        f"/admin/users/{colleague.id}/erase", data={"csrf_token": token, "confirm_email": colleague.email}
    )
    assert refused.status_code == 422
    cli_refused = runner.invoke(args=["users", "erase", "--email", colleague.email, "--yes"])
    assert cli_refused.exit_code == 2 and "change its role first" in cli_refused.output
    db.session.expire_all()
    assert db.session.get(User, colleague.id).erased_at is None


def test_operator_erases_from_the_command_line(departed, runner):
    result = runner.invoke(args=["users", "erase", "--email", departed["email"], "--yes"])
    assert result.exit_code == 0, result.output
    assert "1 posts stay with the organisation" in result.output
    db.session.expire_all()
    assert db.session.get(User, departed["user"].id).erased_at is not None
    assert runner.invoke(args=["users", "erase", "--email", departed["email"], "--yes"]).exit_code == 2
