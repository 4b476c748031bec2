"""Optimistic concurrency of the administration's items (issue 18): identity-provider settings and
cluster memberships.

A stale page answers 409, keeps what the administrator typed (never a client secret) and says what
is saved now; it never puts back a role someone lowered or removed, re-enables a provider someone
disabled, or confirms an MFA exemption for settings the focal point has not seen. Two saves at the
same moment give one success and one 409, never a 500.
"""

from __future__ import annotations

import secrets
from typing import Any

import pytest
import sqlalchemy as sa

from app.auth.models import IdentityProvider, ProviderStatus
from app.clusters.models import ClusterMembership, MembershipRole
from app.extensions import db
from tests.conftest import sign_in
from tests.support.oidc import complete_login
from tests.test_concurrency import _FormReader, _race, fresh, no_500
from tests.test_sso import finish
from tests.test_sso_links import idp  # noqa: F401  (the module's OIDC provider fixture)

SECRET = "typed-secret-9d2b7e"


class _FirstFormReader(_FormReader):
    """The first form posting to ``action`` only (a membership's row, not the grant form below)."""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "form" and self.fields:
            self.action = None  # type: ignore[assignment]
        super().handle_starttag(tag, attrs)


def page_form(client: Any, page_url: str, action: str) -> dict[str, Any]:
    """The fields of the form posting to ``action`` as ``page_url`` drew it (the first such form)."""
    page = client.get(page_url)
    assert page.status_code == 200, page.status_code
    reader = _FirstFormReader(action)
    reader.feed(page.get_data(as_text=True))
    assert "csrf_token" in reader.fields and "version" in reader.fields, reader.fields
    return reader.fields


def admins(make: Any, new_client: Any) -> tuple[Any, Any]:
    return (
        new_client(make.user(role="admin", org_type="commission")),
        new_client(make.user(role="admin", org_type="commission")),
    )


def a_provider(make: Any, **fields: Any) -> IdentityProvider:
    from app.auth.sso import add_provider

    org = make.org("terminal_operator", domain=f"idp-{secrets.token_hex(3)}.example")
    provider = add_provider(
        org, "Harbour sign-in", "https://login.harbour.example", "pax-portal", "first-secret", **fields
    )
    db.session.commit()
    return provider


def membership(user_id: int, slug: str = "policy") -> ClusterMembership | None:
    db.session.commit()
    db.session.expire_all()
    return db.session.scalar(
        sa.select(ClusterMembership)
        .join(ClusterMembership.cluster)
        .where(ClusterMembership.user_id == user_id, ClusterMembership.cluster.has(slug=slug))
    )


# --- identity providers ---------------------------------------------------------------------------------


def test_stale_provider_form_keeps_what_was_typed_never_the_secret(make, new_client):
    provider = a_provider(make)
    url = f"/admin/identity-providers/{provider.id}"
    first, second = admins(make, new_client)
    mine, theirs = page_form(first, url, url), page_form(second, url, url)
    theirs["client_id"] = "pax-portal-rotated"
    assert second.post(url, data=theirs).status_code == 302

    mine.update(name="Harbour staff sign-in", client_secret=SECRET)
    response = first.post(url, data=mine)
    text = response.get_data(as_text=True)
    assert response.status_code == 409, text[:400]
    assert "Someone else saved a change to this identity provider" in text
    assert 'value="Harbour staff sign-in"' in text  # what was typed is kept
    assert "Now saved: “pax-portal-rotated”" in text  # what changed is shown
    assert SECRET not in text and "enter the new client secret again" in text
    saved = fresh(IdentityProvider, provider.id)
    assert (saved.name, saved.client_id, saved.version) == ("Harbour sign-in", "pax-portal-rotated", 2)

    again = _FormReader(url)
    again.feed(text)
    assert again.fields["version"] == "2"  # saving again is a choice made having seen the change
    assert first.post(url, data={**again.fields, "client_secret": ""}).status_code == 302
    assert fresh(IdentityProvider, provider.id).name == "Harbour staff sign-in"


def test_a_stale_state_form_does_not_re_enable_a_disabled_provider(make, new_client):
    from app.db import utcnow

    provider = a_provider(make)
    provider.status, provider.last_test_ok_at = ProviderStatus.ENABLED, utcnow()
    db.session.commit()
    url = f"/admin/identity-providers/{provider.id}"
    first, second = admins(make, new_client)
    mine, theirs = page_form(first, url, f"{url}/status"), page_form(second, url, f"{url}/status")
    assert mine["status"] == "enabled"
    theirs["status"] = "disabled"  # someone takes it off the sign-in page
    assert second.post(f"{url}/status", data=theirs).status_code == 302

    mine["status"] = "enabled"
    response = first.post(f"{url}/status", data=mine)
    text = response.get_data(as_text=True)
    assert response.status_code == 409 and "Now saved: “Disabled”" in text
    assert fresh(IdentityProvider, provider.id).status is ProviderStatus.DISABLED


def test_a_test_sign_in_from_a_stale_page_is_not_started(make, new_client):
    provider = a_provider(make)
    url = f"/admin/identity-providers/{provider.id}"
    first, second = admins(make, new_client)
    test_button = page_form(first, url, f"{url}/test")
    theirs = page_form(second, url, url)
    theirs["issuer"] = "https://login2.harbour.example"
    assert second.post(url, data=theirs).status_code == 302

    response = first.post(f"{url}/test", data=test_button)
    text = response.get_data(as_text=True)
    assert response.status_code == 409 and "no test was started" in text
    assert "login2.harbour.example" in text  # the page shows the settings as they are now


def test_a_test_that_ran_while_the_settings_changed_does_not_count(make, app, idp):  # noqa: F811
    from app.auth.sso import add_provider, update_provider

    org = make.org("terminal_operator", domain="midtest.example")
    client_id, client_secret = f"pax-{secrets.token_hex(4)}", secrets.token_urlsafe(24)
    provider = add_provider(org, "Mid-test SSO", idp.issuer, client_id, client_secret)
    db.session.commit()
    idp.add_client(client_id, client_secret, [f"http://localhost/login/sso/{provider.id}/callback"])
    admin = sign_in(app.test_client(), make, make.user(role="admin", org_type="commission"))
    url = f"/admin/identity-providers/{provider.id}"
    to_provider = admin.post(f"{url}/test", data=page_form(admin, url, f"{url}/test"))
    assert to_provider.status_code == 302

    update_provider(  # another administrator renames it while the test runs
        provider,
        name="Renamed mid-test",
        issuer=provider.issuer,
        client_id=provider.client_id,
        metadata_url=None,
        mfa_exempt_when_asserted=False,
    )
    db.session.commit()
    sub = f"sub-{secrets.token_hex(6)}"
    idp.add_account(sub, f"{sub}@midtest.example", "Tess Tester", amr=["pwd"])
    report = finish(admin, complete_login(to_provider.headers["Location"], sub))
    assert report.status_code == 200 and "Someone changed this provider while the test ran" in report.get_data(
        as_text=True
    )
    assert fresh(IdentityProvider, provider.id).last_test_ok_at is None


def test_a_focal_point_cannot_confirm_an_exemption_for_settings_it_has_not_seen(make, new_client):
    provider = a_provider(make, mfa_exempt_when_asserted=True)
    focal = new_client(make.user(org=provider.organisation, focal_point=True))
    page = focal.get("/admin/sign-in").get_data(as_text=True)
    confirm = f"/admin/identity-providers/{provider.id}/confirm-mfa-exemption"
    reader = _FormReader(confirm)
    reader.feed(page)
    assert reader.fields["version"] == "1"

    (admin, _) = admins(make, new_client)
    url = f"/admin/identity-providers/{provider.id}"
    theirs = page_form(admin, url, url)
    theirs["issuer"] = "https://elsewhere.example"  # the exemption now concerns another provider
    assert admin.post(url, data=theirs).status_code == 302

    response = focal.post(confirm, data=reader.fields)
    assert response.status_code == 409 and "nothing was confirmed" in response.get_data(as_text=True)
    assert fresh(IdentityProvider, provider.id).mfa_exempt_confirmed_at is None


@pytest.mark.timeout(120)
@pytest.mark.committed_db
def test_simultaneous_provider_saves_give_one_success_and_one_409(make, new_client, monkeypatch):
    provider = a_provider(make)
    url = f"/admin/identity-providers/{provider.id}"
    tabs = admins(make, new_client)
    forms = [page_form(tab, url, url) for tab in tabs]
    forms[0]["name"], forms[1]["name"] = "Saved by the first", "Saved by the second"
    forms[1]["client_secret"] = SECRET
    results = _race(monkeypatch, [lambda t=t, f=f: t.post(url, data=f) for t, f in zip(tabs, forms, strict=True)])
    no_500(*results)
    assert sorted(r.status_code for r in results) == [302, 409]
    assert all(SECRET not in r.get_data(as_text=True) for r in results)
    saved = fresh(IdentityProvider, provider.id)
    assert saved.version == 2 and saved.name in ("Saved by the first", "Saved by the second")

    monkeypatch.undo()
    forms = [page_form(tab, url, f"{url}/status") for tab in tabs]
    forms[0]["status"], forms[1]["status"] = "disabled", "testing"
    results = _race(
        monkeypatch, [lambda t=t, f=f: t.post(f"{url}/status", data=f) for t, f in zip(tabs, forms, strict=True)]
    )
    no_500(*results)
    assert sorted(r.status_code for r in results) == [302, 409]
    assert fresh(IdentityProvider, provider.id).version == 3


# --- cluster memberships ----------------------------------------------------------------------------------


def role_form(client: Any, user_id: int) -> dict[str, Any]:
    """The role form of the user's policy row (the first form posting to the grant address)."""
    return page_form(client, f"/admin/users/{user_id}", f"/admin/users/{user_id}/memberships")


def test_stale_membership_form_never_restores_a_lowered_role(make, new_client):
    """The need-to-know case: one administrator lowers a coordinator to reader; another, from a
    page drawn before, changes something about the same membership: the role stays lowered."""
    member = make.user(clusters={"policy": "coordinator"})
    first, second = admins(make, new_client)
    mine, theirs = role_form(first, member.id), role_form(second, member.id)
    assert mine["role"] == "coordinator" and mine["cluster"] == "policy"
    theirs["role"] = "reader"
    assert second.post(f"/admin/users/{member.id}/memberships", data=theirs).status_code == 302

    mine["role"] = "contributor"  # still more than the reader the member now is
    response = first.post(f"/admin/users/{member.id}/memberships", data=mine)
    text = response.get_data(as_text=True)
    assert response.status_code == 409, text[:400]
    assert "Someone else saved a change to this cluster membership" in text and "Now saved: “Reader”" in text
    saved = membership(member.id)
    assert saved is not None and (saved.role, saved.version) == (MembershipRole.READER, 2)


def test_stale_membership_form_never_restores_a_removed_membership(make, new_client):
    member = make.user(clusters={"policy": "coordinator"})
    first, second = admins(make, new_client)
    mine = role_form(first, member.id)
    revoke = f"/admin/users/{member.id}/memberships/{membership(member.id).cluster_id}/revoke"
    assert second.post(revoke, data=page_form(second, f"/admin/users/{member.id}", revoke)).status_code == 302

    mine["role"] = "coordinator"
    response = first.post(f"/admin/users/{member.id}/memberships", data=mine)
    text = response.get_data(as_text=True)
    assert response.status_code == 409 and "Now: not a member of this cluster." in text
    assert membership(member.id) is None


def test_a_stale_revoke_does_not_remove_a_membership_someone_changed(make, new_client):
    member = make.user(clusters={"policy": "reader"})
    first, second = admins(make, new_client)
    revoke = f"/admin/users/{member.id}/memberships/{membership(member.id).cluster_id}/revoke"
    stale_revoke = page_form(first, f"/admin/users/{member.id}", revoke)
    theirs = role_form(second, member.id)
    theirs["role"] = "contributor"
    assert second.post(f"/admin/users/{member.id}/memberships", data=theirs).status_code == 302

    response = first.post(revoke, data=stale_revoke)
    assert response.status_code == 409 and "it was not revoked" in response.get_data(as_text=True)
    assert membership(member.id).role is MembershipRole.CONTRIBUTOR


def test_a_grant_from_a_page_that_showed_no_membership_does_not_replace_one(make, new_client):
    member = make.user()
    first, second = admins(make, new_client)
    grant = f"/admin/users/{member.id}/memberships"
    mine, theirs = (page_form(c, f"/admin/users/{member.id}", grant) for c in (first, second))
    assert mine["version"] == "0"
    assert second.post(grant, data={**theirs, "cluster": "policy", "role": "reader"}).status_code == 302
    response = first.post(grant, data={**mine, "cluster": "policy", "role": "coordinator"})
    assert response.status_code == 409 and "Now saved: “Reader”" in response.get_data(as_text=True)
    assert membership(member.id).role is MembershipRole.READER


@pytest.mark.timeout(120)
@pytest.mark.committed_db
def test_simultaneous_membership_saves_give_one_success_and_one_409(make, new_client, monkeypatch):
    member = make.user(clusters={"policy": "coordinator"})
    tabs = admins(make, new_client)
    grant = f"/admin/users/{member.id}/memberships"
    forms = [role_form(tab, member.id) for tab in tabs]
    forms[0]["role"], forms[1]["role"] = "reader", "contributor"
    results = _race(monkeypatch, [lambda t=t, f=f: t.post(grant, data=f) for t, f in zip(tabs, forms, strict=True)])
    no_500(*results)
    assert sorted(r.status_code for r in results) == [302, 409]
    saved = membership(member.id)
    assert saved.version == 2 and saved.role in (MembershipRole.READER, MembershipRole.CONTRIBUTOR)

    monkeypatch.undo()  # a role change and a removal at the same moment: one of them, whole
    revoke = f"/admin/users/{member.id}/memberships/{saved.cluster_id}/revoke"
    change = {**role_form(tabs[0], member.id), "role": "coordinator"}
    removal = page_form(tabs[1], f"/admin/users/{member.id}", revoke)
    results = _race(monkeypatch, [lambda: tabs[0].post(grant, data=change), lambda: tabs[1].post(revoke, data=removal)])
    no_500(*results)
    assert sorted(r.status_code for r in results) == [302, 409]
    after = membership(member.id)
    if results[0].status_code == 302:
        assert after is not None and after.role is MembershipRole.COORDINATOR
    else:
        assert after is None


@pytest.mark.timeout(120)
@pytest.mark.committed_db
def test_simultaneous_grants_of_a_new_membership_never_answer_500(make, new_client):
    """Two first grants in the same cluster: the unique (user, cluster) pair decides; the loser is a 409."""
    import threading

    member = make.user()
    tabs = admins(make, new_client)
    grant = f"/admin/users/{member.id}/memberships"
    forms = [{**page_form(t, f"/admin/users/{member.id}", grant), "cluster": "policy"} for t in tabs]
    forms[0]["role"], forms[1]["role"] = "reader", "coordinator"
    results: list[Any] = [None, None]
    barrier = threading.Barrier(2, timeout=20)

    def run(n: int) -> None:
        barrier.wait()
        results[n] = tabs[n].post(grant, data=forms[n])

    threads = [threading.Thread(target=run, args=(n,)) for n in (0, 1)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    no_500(*results)
    assert sorted(r.status_code for r in results) == [302, 409]
    assert (
        db.session.scalar(
            sa.select(sa.func.count()).select_from(ClusterMembership).where(ClusterMembership.user_id == member.id)
        )
        == 1
    )
