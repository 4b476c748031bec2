"""Inviting a colleague from the web: created, resent (old link dead), revoked (link dead),
accepted; focal points only into their own organisation; mail through the real SMTP server."""

from __future__ import annotations

import re

import sqlalchemy as sa

from app.auth.models import User, UserStatus
from app.auth.onboarding_models import Invitation
from app.clusters.models import ClusterMembership
from app.extensions import db
from tests.conftest import csrf_token_from, login
from tests.support.smtp import deliver_outbox

PASSWORD = "my first harbour password"
LINK = re.compile(r"http://\S+(/invitation/\S+)")


def invite(client, email: str, name: str = "New Colleague", organisation: int | None = None):  # type: ignore[no-untyped-def]
    page = client.get("/admin/invitations")
    assert page.status_code == 200
    data = {"email": email, "name": name, "csrf_token": csrf_token_from(page.get_data(as_text=True))}
    if organisation is not None:
        data["organisation"] = str(organisation)
    return client.post("/admin/invitations", data=data)


def post_button(client, path: str):  # type: ignore[no-untyped-def]
    token = csrf_token_from(client.get("/admin/invitations").get_data(as_text=True))
    return client.post(path, data={"csrf_token": token})


def link_of(received) -> str:  # type: ignore[no-untyped-def]
    match = LINK.search(received.text)
    assert match, received.text
    return match.group(1)


def accept(client, path: str, password: str = PASSWORD):  # type: ignore[no-untyped-def]
    page = client.get(path)
    if page.status_code != 200:
        return page
    token = csrf_token_from(page.get_data(as_text=True))
    return client.post(path, data={"new_password": password, "confirm_password": password, "csrf_token": token})


def test_focal_point_invites_and_the_colleague_accepts(app, client, make, login_as, runner, smtp):
    focal = make.user(focal_point=True)
    login_as(focal)
    email = f"newcomer@{focal.organisation.email_domains[0]}"
    assert invite(client, email, "Nina Newcomer").status_code == 302
    listed = client.get("/admin/invitations").get_data(as_text=True)
    assert email in listed and "Waiting" in listed
    [received] = deliver_outbox(app, runner, smtp)
    assert received.envelope_to == [email] and "invites you" in received.text and focal.name in received.text
    path = link_of(received)
    stored = db.session.scalar(sa.select(Invitation))
    assert stored.token_hash not in path and path.rsplit("/", 1)[1] not in stored.token_hash

    stranger = app.test_client()
    accepted = accept(stranger, path)
    assert accepted.status_code == 302 and accepted.headers["Location"] == "/dashboard"
    assert stranger.get("/dashboard").status_code == 200
    user = db.session.scalar(sa.select(User).where(User.email == email))
    assert user.status is UserStatus.ACTIVE and user.organisation_id == focal.organisation_id
    assert user.role.value == "member" and not user.is_focal_point
    assert (
        db.session.scalar(
            sa.select(sa.func.count()).select_from(ClusterMembership).where(ClusterMembership.user_id == user.id)
        )
        == 0
    )
    # The link is single-use.
    assert app.test_client().get(path).status_code == 404
    assert login(app.test_client(), email, PASSWORD).headers["Location"] == "/dashboard"
    assert "Accepted" in client.get("/admin/invitations").get_data(as_text=True)


def test_resend_kills_the_old_link(app, client, make, login_as, runner, smtp):
    focal = make.user(focal_point=True)
    login_as(focal)
    invite(client, f"again@{focal.organisation.email_domains[0]}")
    first = link_of(deliver_outbox(app, runner, smtp)[0])
    invitation = db.session.scalar(sa.select(Invitation))
    assert post_button(client, f"/admin/invitations/{invitation.id}/resend").status_code == 302
    second = link_of(deliver_outbox(app, runner, smtp)[0])
    assert first != second
    assert app.test_client().get(first).status_code == 404
    assert accept(app.test_client(), second).status_code == 302


def test_revoke_kills_the_link(app, client, make, login_as, runner, smtp):
    focal = make.user(focal_point=True)
    login_as(focal)
    invite(client, f"revoked@{focal.organisation.email_domains[0]}")
    path = link_of(deliver_outbox(app, runner, smtp)[0])
    invitation = db.session.scalar(sa.select(Invitation))
    assert post_button(client, f"/admin/invitations/{invitation.id}/revoke").status_code == 302
    dead = app.test_client().get(path)
    assert dead.status_code == 404 and "does not work any more" in dead.get_data(as_text=True)
    assert accept(app.test_client(), path).status_code == 404
    assert db.session.scalar(sa.select(User).where(User.email == invitation.email)) is None
    assert "Withdrawn" in client.get("/admin/invitations").get_data(as_text=True)


def test_focal_point_cannot_invite_into_another_organisation(app, client, make, login_as):
    focal = make.user(focal_point=True)
    other_org = make.org()
    login_as(focal)
    # The address of another organisation is refused; the organisation field is not theirs to choose.
    refused = invite(client, f"outsider@{other_org.email_domains[0]}", organisation=other_org.id)
    assert refused.status_code == 422
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Invitation)) == 0
    # Nor can they resend or revoke another organisation's invitations.
    from app.auth.invitations import invite as invite_service

    admin = make.user(role="admin", org_type="commission")
    theirs = invite_service(admin, other_org, f"someone@{other_org.email_domains[0]}", "Someone")
    db.session.commit()
    for action in ("resend", "revoke"):
        assert post_button(client, f"/admin/invitations/{theirs.id}/{action}").status_code == 404
    assert f"someone@{other_org.email_domains[0]}" not in client.get("/admin/invitations").get_data(as_text=True)


def test_members_cannot_invite(client, make, login_as):
    login_as(make.user())
    assert client.get("/admin/invitations").status_code == 403


def test_administrator_invites_into_any_organisation(app, client, make, login_as, runner, smtp):
    admin = make.user(role="admin", org_type="commission")
    org = make.org()
    login_as(admin)
    assert invite(client, f"boss@{org.email_domains[0]}", "Port Boss", organisation=org.id).status_code == 302
    [received] = deliver_outbox(app, runner, smtp)
    assert accept(app.test_client(), link_of(received)).status_code == 302
    user = db.session.scalar(sa.select(User).where(User.email == f"boss@{org.email_domains[0]}"))
    assert user.organisation_id == org.id and user.role.value == "member"


def test_an_existing_account_or_open_invitation_is_not_invited_twice(client, make, login_as):
    focal = make.user(focal_point=True)
    existing = make.user(org=focal.organisation)
    login_as(focal)
    assert "already exists" in invite(client, existing.email).get_data(as_text=True)
    email = f"twice@{focal.organisation.email_domains[0]}"
    assert invite(client, email).status_code == 302
    assert "already invited" in invite(client, email).get_data(as_text=True)


def test_an_sso_organisation_is_told_to_use_company_sign_in(app, client, make, login_as, runner, smtp):
    from app.auth.invitations import claim_sso_invitation
    from app.auth.models import IdentityProvider
    from app.auth.sso import add_provider

    focal = make.user(focal_point=True)
    provider = add_provider(focal.organisation, "Company SSO", "http://127.0.0.1:9", "pax", "secret")
    if hasattr(IdentityProvider, "status"):
        from app.auth.models import ProviderStatus

        provider.status = ProviderStatus.ENABLED
    else:
        provider.enabled = True
    db.session.commit()
    login_as(focal)
    email = f"sso-user@{focal.organisation.email_domains[0]}"
    assert invite(client, email).status_code == 302
    [received] = [m for m in deliver_outbox(app, runner, smtp) if m.envelope_to == [email]]
    assert "company account" in received.text
    page = app.test_client().get(link_of(received))
    assert page.status_code == 200 and "Sign in with your company account" in page.get_data(as_text=True)
    assert "new_password" not in page.get_data(as_text=True)
    # The first SSO sign-in's pending account is activated by the invitation.
    from app.auth.services import create_user

    pending = create_user(email, "SSO User", focal.organisation, status=UserStatus.PENDING)
    assert claim_sso_invitation(pending) and pending.status is UserStatus.ACTIVE
