"""Administration pages as an administrator, a focal point, a member and an attacker see them."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from app.auth.models import GlobalRole, IdentityProvider, RecoveryCode, User, UserStatus
from app.directory.models import Organisation, OrganisationDomain
from app.extensions import db
from app.keys.sealed import unseal
from tests.conftest import TEST_PASSWORD, csrf_token_from, login, sign_in


@pytest.fixture
def admin(make) -> User:
    return make.user(role="admin", org_type="commission")


@pytest.fixture
def admin_client(client, make, admin):  # type: ignore[no-untyped-def]
    return sign_in(client, make, admin)


def post(client, url: str, data: dict | None = None, page: str = "/dashboard"):  # type: ignore[no-untyped-def]
    """POST with a CSRF token taken from a page the client can open."""
    token = csrf_token_from(client.get(page).get_data(as_text=True))
    return client.post(url, data={**(data or {}), "csrf_token": token})


def fresh(model, id_: int):  # type: ignore[no-untyped-def]
    """The row as the database now holds it, not as this test's session remembers it."""
    stmt = sa.select(model).where(model.id == id_).execution_options(populate_existing=True)
    return db.session.scalar(stmt)


# --- who may open what ---------------------------------------------------------------------------

ADMIN_PAGES = [
    "/admin/",
    "/admin/users",
    "/admin/organisations",
    "/admin/identity-providers",
    "/admin/approvals",
    "/admin/sessions",
]


@pytest.mark.parametrize("url", ADMIN_PAGES)
def test_anonymous_visitors_are_sent_to_sign_in(client, url):
    response = client.get(url)
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login")


@pytest.mark.parametrize("url", ADMIN_PAGES)
def test_plain_member_is_refused(client, make, login_as, url):
    login_as(make.user(clusters={"policy": "coordinator"}))
    assert client.get(url).status_code == 403


@pytest.mark.parametrize("url", ["/admin/", "/admin/users", "/admin/organisations", "/admin/identity-providers"])
def test_focal_point_only_reaches_approvals(client, make, login_as, url):
    login_as(make.user(focal_point=True))
    assert client.get(url).status_code == 403
    assert client.get("/admin/approvals").status_code == 200


def test_member_cannot_open_an_account_page(client, make, login_as):
    other = make.user()
    login_as(make.user())
    assert client.get(f"/admin/users/{other.id}").status_code == 403
    assert post(client, f"/admin/users/{other.id}/suspend").status_code == 404
    assert fresh(User, other.id).status is UserStatus.ACTIVE


@pytest.mark.parametrize("url", ADMIN_PAGES)
def test_admin_pages_render(admin_client, url):
    page = admin_client.get(url)
    assert page.status_code == 200
    assert page.get_data(as_text=True).count("<h1") == 1


def test_overview_counts_accounts(admin_client, make):
    make.user(status="pending")
    make.user(status="suspended")
    text = admin_client.get("/admin/").get_data(as_text=True)
    assert "1 account is waiting for approval" in text
    assert 'href="/admin/users?status=suspended"' in text


# --- approvals -----------------------------------------------------------------------------------


def test_admin_approves_a_pending_user_who_can_then_sign_in(app, admin_client, make):
    pending = make.user(status="pending")
    assert pending.email in admin_client.get("/admin/approvals").get_data(as_text=True)
    response = post(admin_client, f"/admin/approvals/{pending.id}/approve", page="/admin/approvals")
    assert response.status_code == 302
    assert "is approved" in admin_client.get(response.headers["Location"]).get_data(as_text=True)
    newcomer = app.test_client()
    response = login(newcomer, pending.email)
    assert response.status_code == 302 and response.headers["Location"] == "/dashboard"


def test_admin_rejects_a_pending_user_and_the_account_is_gone(admin_client, make):
    pending = make.user(status="pending")
    response = post(admin_client, f"/admin/approvals/{pending.id}/reject", page="/admin/approvals")
    assert response.status_code == 302
    assert fresh(User, pending.id) is None
    assert "is rejected and the account removed" in admin_client.get(response.headers["Location"]).get_data(
        as_text=True
    )
    assert pending.email not in admin_client.get("/admin/approvals").get_data(as_text=True)


def test_focal_point_approves_own_organisations_pending_user(client, make, login_as):
    org = make.org()
    focal = make.user(org=org, focal_point=True)
    pending = make.user(org=org, status="pending")
    login_as(focal)
    page = client.get("/admin/approvals").get_data(as_text=True)
    assert pending.email in page
    assert f'href="/admin/users/{pending.id}"' not in page  # focal points do not administer accounts
    assert post(client, f"/admin/approvals/{pending.id}/approve").status_code == 302
    assert fresh(User, pending.id).status is UserStatus.ACTIVE


def test_focal_point_of_another_organisation_neither_sees_nor_decides(client, make, login_as):
    pending = make.user(status="pending")
    login_as(make.user(focal_point=True))  # of another organisation
    assert pending.email not in client.get("/admin/approvals").get_data(as_text=True)
    assert post(client, f"/admin/approvals/{pending.id}/approve").status_code == 404
    assert post(client, f"/admin/approvals/{pending.id}/reject").status_code == 404
    assert fresh(User, pending.id).status is UserStatus.PENDING


def test_approvals_show_the_provider_a_first_sso_sign_in_came_through(client, make, login_as):
    from app.auth.models import Identity
    from app.auth.sso import add_provider as register_provider

    org = make.org()
    provider = register_provider(org, "Harbour sign-in", "https://login.harbour.example", "pax", "s3cret")
    newcomer = make.user(org=org, status="pending", password=None)
    db.session.add(Identity(user_id=newcomer.id, provider_id=provider.id, subject="sub-123"))
    db.session.commit()
    login_as(make.user(org=org, focal_point=True))
    page = client.get("/admin/approvals").get_data(as_text=True)
    assert newcomer.email in page and "Harbour sign-in" in page
    assert post(client, f"/admin/approvals/{newcomer.id}/reject").status_code == 302
    assert fresh(User, newcomer.id) is None


def test_only_pending_accounts_can_be_approved(admin_client, make):
    suspended = make.user(status="suspended")
    assert post(admin_client, f"/admin/approvals/{suspended.id}/approve").status_code == 404
    assert fresh(User, suspended.id).status is UserStatus.SUSPENDED


# --- suspension, roles, second factor --------------------------------------------------------------


def signed_in_elsewhere(app, user: User):  # type: ignore[no-untyped-def]
    other = app.test_client()
    assert login(other, user.email).status_code == 302
    assert other.get("/dashboard").status_code == 200
    return other


def test_suspension_ends_the_users_open_session_at_once(app, admin_client, make):
    target = make.user()
    target_client = signed_in_elsewhere(app, target)
    response = post(admin_client, f"/admin/users/{target.id}/suspend", page=f"/admin/users/{target.id}")
    assert response.status_code == 302
    assert "is suspended" in admin_client.get(response.headers["Location"]).get_data(as_text=True)
    after = target_client.get("/dashboard")
    assert after.status_code == 302 and after.headers["Location"].startswith("/login")
    assert login(app.test_client(), target.email).status_code == 422


def test_reactivation_lets_a_suspended_user_sign_in_again(app, admin_client, make):
    target = make.user(status="suspended")
    assert post(admin_client, f"/admin/users/{target.id}/reactivate").status_code == 302
    assert login(app.test_client(), target.email).status_code == 302


def test_admin_cannot_suspend_demote_or_reset_themselves(admin_client, admin):
    page = admin_client.get(f"/admin/users/{admin.id}").get_data(as_text=True)
    assert "This is your own account" in page
    for button in ("Suspend account", "Change role", "Reset second factor"):
        assert button not in page
    assert post(admin_client, f"/admin/users/{admin.id}/suspend").status_code == 404
    assert post(admin_client, f"/admin/users/{admin.id}/role", {"role": "member"}).status_code == 404
    assert post(admin_client, f"/admin/users/{admin.id}/reset-mfa").status_code == 404
    me = fresh(User, admin.id)
    assert me.role is GlobalRole.ADMIN and me.status is UserStatus.ACTIVE and me.totp_secret_sealed


def test_role_change_ends_the_users_sessions(app, admin_client, make):
    target = make.user()
    target_client = signed_in_elsewhere(app, target)
    response = post(admin_client, f"/admin/users/{target.id}/role", {"role": "curator"})
    assert response.status_code == 302
    assert "is now Curator" in admin_client.get(response.headers["Location"]).get_data(as_text=True)
    assert fresh(User, target.id).role is GlobalRole.CURATOR
    assert target_client.get("/dashboard").status_code == 302


def test_unknown_role_is_refused_with_the_message(admin_client, make):
    target = make.user()
    response = post(admin_client, f"/admin/users/{target.id}/role", {"role": "emperor"})
    assert response.status_code == 422
    assert "Choose one of: member, curator, admin, auditor." in response.get_data(as_text=True)
    assert fresh(User, target.id).role is GlobalRole.MEMBER


def test_the_last_administrator_stays_one(admin_client, admin, make):
    from app.auth.accounts import change_role
    from app.validation import ValidationError

    other = make.user(role="admin")
    # with two administrators, one demotes the other ...
    assert post(admin_client, f"/admin/users/{other.id}/role", {"role": "member"}).status_code == 302
    assert fresh(User, other.id).role is GlobalRole.MEMBER
    # ... and the one left cannot be demoted: not through the pages (no one else to do it) ...
    assert post(admin_client, f"/admin/users/{admin.id}/role", {"role": "member"}).status_code == 404
    # ... nor by the service itself, which says why
    with pytest.raises(ValidationError, match="at least one active administrator"):
        change_role(fresh(User, admin.id), "member")
    db.session.rollback()
    assert fresh(User, admin.id).role is GlobalRole.ADMIN


def test_reset_mfa_clears_the_enrolment(app, admin_client, make):
    target = make.user()
    make.enrol_mfa(target)
    page = admin_client.get(f"/admin/users/{target.id}").get_data(as_text=True)
    assert "Reset second factor" in page
    assert post(admin_client, f"/admin/users/{target.id}/reset-mfa").status_code == 302
    target = fresh(User, target.id)
    assert target.totp_secret_sealed is None and target.mfa_enrolled_at is None
    assert (
        db.session.scalar(sa.select(sa.func.count()).select_from(RecoveryCode).where(RecoveryCode.user_id == target.id))
        == 0
    )
    # a member signs in with the password alone again (and may enrol anew)
    response = login(app.test_client(), target.email)
    assert response.headers["Location"] == "/dashboard"


def test_focal_point_can_be_given_and_taken(admin_client, make):
    target = make.user()
    assert post(admin_client, f"/admin/users/{target.id}/focal-point", {"value": "yes"}).status_code == 302
    assert fresh(User, target.id).is_focal_point
    assert post(admin_client, f"/admin/users/{target.id}/focal-point", {"value": "no"}).status_code == 302
    assert not fresh(User, target.id).is_focal_point


# --- cluster memberships ---------------------------------------------------------------------------


def _my_clusters(client) -> str:  # type: ignore[no-untyped-def]
    text = client.get("/dashboard").get_data(as_text=True)
    return text.split("Your clusters", 1)[1].split("All clusters", 1)[0]


def test_granted_and_revoked_memberships_show_on_the_users_dashboard(app, admin_client, make):
    target = make.user()
    target_client = signed_in_elsewhere(app, target)
    assert "not a member of any cluster" in _my_clusters(target_client)

    response = post(
        admin_client, f"/admin/users/{target.id}/memberships", {"cluster": "innovation", "role": "contributor"}
    )
    assert response.status_code == 302
    assert "Innovation: technology for the resilience" in _my_clusters(target_client)
    assert "Contributor" in _my_clusters(target_client)

    innovation = next(m for m in fresh(User, target.id).memberships if m.cluster.slug == "innovation")
    response = post(admin_client, f"/admin/users/{target.id}/memberships/{innovation.cluster_id}/revoke")
    assert response.status_code == 302
    assert "not a member of any cluster" in _my_clusters(target_client)


def test_granting_an_unknown_cluster_is_refused(admin_client, make):
    target = make.user()
    response = post(admin_client, f"/admin/users/{target.id}/memberships", {"cluster": "harbour", "role": "reader"})
    assert response.status_code == 422
    assert "Unknown cluster &#39;harbour&#39;" in response.get_data(as_text=True)
    assert fresh(User, target.id).memberships == []


def test_revoking_a_membership_the_user_does_not_hold_is_404(admin_client, make):
    target = make.user(clusters={"policy": "reader"})
    assert post(admin_client, f"/admin/users/{target.id}/memberships/999999/revoke").status_code == 404


# --- users list ------------------------------------------------------------------------------------


def test_users_list_filters_and_pages(admin_client, make):
    org = make.org()
    for _ in range(51):
        make.user(org=org)
    pending = make.user(org=org, status="pending")

    first = admin_client.get(f"/admin/users?organisation={org.id}").get_data(as_text=True)
    assert "Showing 1\u201350 of 52 accounts" in first
    assert f"/admin/users?page=2&amp;organisation={org.id}" in first or f"organisation={org.id}&amp;page=2" in first
    second = admin_client.get(f"/admin/users?organisation={org.id}&page=2").get_data(as_text=True)
    assert "Showing 51\u201352 of 52 accounts" in second

    only_pending = admin_client.get(f"/admin/users?organisation={org.id}&status=pending").get_data(as_text=True)
    assert "of 1 account" in only_pending and pending.email in only_pending

    admins = admin_client.get("/admin/users?role=admin").get_data(as_text=True)
    assert pending.email not in admins


# --- organisations ---------------------------------------------------------------------------------


def _org_count() -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(Organisation)) or 0


def test_create_organisation(admin_client):
    response = post(
        admin_client,
        "/admin/organisations",
        {"name": "Port of Testhaven", "type": "port_authority", "country": "nl", "email_domains": "testhaven.example"},
    )
    assert response.status_code == 302
    page = admin_client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Port of Testhaven" in page and "testhaven.example" in page
    listing = admin_client.get("/admin/organisations").get_data(as_text=True)
    assert "Port authority" in listing and "NL" in listing


def test_create_organisation_with_a_bad_country_keeps_the_input(admin_client):
    before = _org_count()
    response = post(
        admin_client, "/admin/organisations", {"name": "Port of Nowhere", "type": "port_authority", "country": "XX"}
    )
    text = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "&#39;XX&#39; is not an ISO 3166-1 alpha-2 country code." in text
    assert 'value="Port of Nowhere"' in text
    assert _org_count() == before


def test_a_domain_belongs_to_one_organisation_only(admin_client, make):
    owner = make.org(domain="taken.example")
    before = _org_count()
    response = post(
        admin_client,
        "/admin/organisations",
        {"name": "Copycat Shipping", "type": "shipping_line", "country": "BE", "email_domains": "Taken.example"},
    )
    assert response.status_code == 422
    assert f"The domain taken.example already belongs to {owner.name}." in response.get_data(as_text=True)
    assert _org_count() == before

    other = make.org()
    url = f"/admin/organisations/{other.id}"
    response = post(admin_client, f"{url}/domains", {"domain": "taken.example"}, page=url)
    assert response.status_code == 422
    assert "already belongs to" in response.get_data(as_text=True)
    response = post(admin_client, f"{url}/domains", {"domain": "not a domain"}, page=url)
    assert response.status_code == 422
    assert "is not a valid e-mail domain" in response.get_data(as_text=True)

    assert post(admin_client, f"{url}/domains", {"domain": "New.Example"}, page=url).status_code == 302
    domains = db.session.scalars(
        sa.select(OrganisationDomain.domain).where(OrganisationDomain.organisation_id == other.id)
    ).all()
    assert "new.example" in domains


def test_organisation_page_lists_its_users(admin_client, make):
    org = make.org()
    user = make.user(org=org)
    text = admin_client.get(f"/admin/organisations/{org.id}").get_data(as_text=True)
    assert user.email in text
    assert admin_client.get("/admin/organisations/999999").status_code == 404


# --- identity providers ----------------------------------------------------------------------------

SECRET = "plaintext-client-secret-7f3a9c"


def provider_form(org: Organisation, **overrides: object) -> dict:
    return {
        "organisation_id": str(org.id),
        "name": "Testhaven sign-in",
        "issuer": "https://login.testhaven.example/realms/staff",
        "metadata_url": "",
        "client_id": "pax-portal",
        "client_secret": SECRET,
        "mfa_exempt": "y",
        **overrides,
    }


def test_added_provider_keeps_its_client_secret_sealed(admin_client, make):
    org = make.org()
    response = post(admin_client, "/admin/identity-providers", provider_form(org))
    assert response.status_code == 302
    assert SECRET not in response.get_data(as_text=True)
    provider = db.session.scalar(sa.select(IdentityProvider).where(IdentityProvider.organisation_id == org.id))
    # A new provider starts in testing, its MFA exemption only requested (issue 16).
    assert provider is not None and provider.mfa_exempt_when_asserted and provider.status.value == "testing"
    assert provider.mfa_exempt_confirmed_at is None

    for url in (response.headers["Location"], "/admin/identity-providers", f"/admin/organisations/{org.id}"):
        page = admin_client.get(url).get_data(as_text=True)
        assert SECRET not in page
    edit = admin_client.get(f"/admin/identity-providers/{provider.id}").get_data(as_text=True)
    assert f"http://localhost/login/sso/{provider.id}/callback" in edit

    stored = db.session.execute(
        sa.text("SELECT client_secret_sealed FROM identity_providers WHERE id = :id"), {"id": provider.id}
    ).scalar_one()
    assert SECRET not in stored
    assert unseal(stored, f"idp-client-secret:{provider.id}").decode() == SECRET


def test_refused_provider_form_does_not_echo_the_secret(admin_client, make):
    org = make.org()
    response = post(admin_client, "/admin/identity-providers", provider_form(org, issuer="login.example"))
    text = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Enter the provider&#39;s issuer URL" in text
    assert SECRET not in text
    assert 'value="pax-portal"' in text  # the other input is kept
    assert db.session.scalar(sa.select(sa.func.count()).select_from(IdentityProvider)) == 0


def test_provider_needs_an_organisation_with_a_domain(admin_client, make):
    from app.directory.services import create_organisation

    bare = create_organisation("Domainless Logistics", "logistics", "DE", [])
    db.session.commit()
    response = post(admin_client, "/admin/identity-providers", provider_form(bare))
    assert response.status_code == 422
    assert "has no e-mail domain" in response.get_data(as_text=True)


def test_editing_a_provider_keeps_or_replaces_the_secret(admin_client, make):
    org = make.org()
    post(admin_client, "/admin/identity-providers", provider_form(org))
    provider = db.session.scalar(sa.select(IdentityProvider).where(IdentityProvider.organisation_id == org.id))
    url = f"/admin/identity-providers/{provider.id}"
    sealed_before = provider.client_secret_sealed
    changes = {
        "name": "Renamed sign-in",
        "issuer": provider.issuer,
        "metadata_url": "",
        "client_id": "pax-portal-2",
        "client_secret": "",
    }  # "mfa_exempt" unticked
    assert post(admin_client, url, changes, page=url).status_code == 302
    provider = fresh(IdentityProvider, provider.id)
    assert (provider.name, provider.client_id, provider.enabled, provider.mfa_exempt_when_asserted) == (
        "Renamed sign-in",
        "pax-portal-2",
        False,
        False,
    )
    assert provider.client_secret_sealed == sealed_before

    response = post(admin_client, url, {**changes, "client_secret": "a-new-secret-1234"}, page=url)
    assert response.status_code == 302
    provider = fresh(IdentityProvider, provider.id)
    assert provider.status.value == "testing"  # a new secret means a new test before use
    assert unseal(provider.client_secret_sealed, f"idp-client-secret:{provider.id}") == b"a-new-secret-1234"
    assert "a-new-secret-1234" not in admin_client.get(url).get_data(as_text=True)


# --- CSRF ------------------------------------------------------------------------------------------


def test_posts_without_the_csrf_token_are_refused(admin_client, make):
    target = make.user()
    pending = make.user(status="pending")
    for url, data in [
        (f"/admin/users/{target.id}/suspend", {}),
        (f"/admin/approvals/{pending.id}/approve", {}),
        ("/admin/organisations", {"name": "Sneaky", "type": "police", "country": "BE"}),
    ]:
        assert admin_client.post(url, data=data).status_code == 400
    assert fresh(User, target.id).status is UserStatus.ACTIVE
    assert fresh(User, pending.id).status is UserStatus.PENDING


def test_admins_sign_in_with_a_second_factor(client, admin):
    """The fixture's path is the real one: an administrator without TOTP is sent to set it up."""
    response = login(client, admin.email, TEST_PASSWORD)
    assert response.headers["Location"] == "/login/mfa/setup"
