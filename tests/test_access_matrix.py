"""Every route x every role: the answer each kind of account gets, generated from the url map.

A route added without an entry in ``ACCESS`` fails ``test_every_route_has_an_access_rule``, so
no page can ship without someone deciding who may reach it.

Each route has an access class (``ACCESS``), and ``_expected(class, role)`` gives the answer
each of the nine roles gets: ok, login (redirect to sign-in), unauthorized (401), denied (403 or
404), not_found, or no server error. The matrix is asserted on two levels:

- ``test_policy_answers_each_role_as_its_access_class_says``: for every role and every access
  class, the policy decides as ``_expected`` says, on the same sample world the HTTP cases use.
  ``POLICY_CHECKS`` names the ``policy.can`` actions the class's routes ask (the routes call
  them through ``authorize``, ``can`` and the ``*_or_404`` helpers); an active role must get
  every one of them exactly when it expects ok, and must see the sample cluster, post, meeting,
  meeting document and workplan item through the ``visible_*`` expressions. An inactive role
  (anonymous, pending, suspended) is refused by every action and every ``visible_*``
  expression, its session is not loaded (login) and its token is not resolved (unauthorized).
- ``test_route_answers_each_role_as_its_rule_says``: over HTTP, every route and method gets one
  request per distinct expected answer (so each route is still seen to answer ok, login,
  unauthorized or denied where its rule says it can). The role asked for an answer rotates
  through the roles that share it from route to route (``_http_cases``), so across the routes of
  an access class every role is still asked over HTTP too. Routes whose answer does not depend
  on a policy decision (public, guest, not_found, link_owner) are still asked as every role.

Before this split every route was asked over HTTP as all nine roles; every (role, route) pair
asserted then is asserted now, over HTTP or through the policy predicate its route uses.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest
import sqlalchemy as sa

from app.auth.models import User, UserStatus
from app.extensions import db
from tests.support.access_audit import AUDIT_ACCESS
from tests.support.access_identity import IDENTITY_ACCESS
from tests.support.access_meetings import MEETINGS_ACCESS
from tests.support.access_notifications import NOTIFICATIONS_ACCESS
from tests.support.access_onboarding import ONBOARDING_ACCESS
from tests.support.access_packs import PACKS_ACCESS
from tests.support.access_privacy import PRIVACY_ACCESS
from tests.support.access_stats import STATS_ACCESS
from tests.support.access_taxii import TAXII_ACCESS
from tests.support.access_workplan import WORKPLAN_ACCESS


def _sample_png() -> bytes:
    """The sample files are small images, so that their thumbnails answer too."""
    import io

    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (4, 3), (0, 90, 160)).save(out, "PNG")
    return out.getvalue()


SAMPLE_PNG = _sample_png()

ROLES = ["anonymous", "pending", "suspended", "member", "coordinator", "focal_point", "curator", "admin", "auditor"]
ACTIVE = {"member", "coordinator", "focal_point", "curator", "admin", "auditor"}

#: Who may reach each endpoint.
#: public: anyone, same answer; guest: the sign-in steps, open to anyone (never a server error);
#: signed_in: any active account; admin: administrators; approver: administrators and focal points;
#: token: the API, any active account's bearer token; contributor: contributors and coordinators
#: of the sample cluster; commenter: those plus the author's organisation; post_editor: the
#: author's organisation's focal point (the sample post's author is not among the roles);
#: token_editor: the same through the API; comment_author: the sample comment's author, who is
#: the sample organisation's focal point (nobody else edits a comment, coordinators included).
ACCESS = {
    "main.landing": "public",
    "main.security_txt": "public",
    "main.security_txt_legacy": "public",
    "main.languages": "public",
    # A language choice goes back where the reader was (a redirect for anyone, never an error).
    "main.choose_language": "guest",
    "help.index": "public",
    "help.markings": "public",
    "help.signing_in": "public",
    "help.posting": "public",
    "help.packs": "public",
    "help.contact": "public",
    "health.healthz": "public",
    "health.readyz": "public",
    "static": "public",
    "auth.login": "guest",
    "auth.logout": "guest",
    "auth.mfa_verify": "guest",
    "auth.mfa_setup": "guest",
    "auth.sso_start": "guest",
    "auth.sso_callback": "guest",
    "auth.sso_backchannel_logout": "guest",
    "auth.awaiting_approval": "guest",
    "main.dashboard": "signed_in",
    "main.read_all": "signed_in",
    "auth.keep_alive": "signed_in",
    "directory.index": "signed_in",
    "drafts.index": "signed_in",
    "drafts.delete": "draft_owner",
    "drafts.autosave": "signed_in_script",
    "directory.organisation": "signed_in",
    "account.directory_entry": "signed_in",
    "clusters.index": "signed_in",
    "clusters.show": "signed_in",
    "clusters.post": "signed_in",
    "clusters.history": "signed_in",
    "clusters.compare": "signed_in",
    "clusters.search": "signed_in",
    "clusters.organisation_posts": "signed_in",
    "clusters.new_post": "contributor",
    "clusters.members": "signed_in",
    "clusters.grant_member": "member_granter",
    "clusters.comment": "commenter",
    "clusters.edit_post": "post_editor",
    "clusters.delete_post": "post_editor",
    "clusters.edit_comment": "comment_author",
    "account.index": "signed_in",
    "account.mfa_settings": "signed_in",
    "account.new_recovery_codes": "signed_in",
    "account.password": "signed_in",
    "account.remove_mfa": "signed_in",
    "account.revoke": "signed_in",
    "account.revoke_all_sessions": "signed_in",
    "account.revoke_other_sessions": "signed_in",
    "account.revoke_one_session": "signed_in",
    "account.tokens": "signed_in",
    "account.time_zone": "signed_in",
    "account.language": "signed_in",
    "admin.index": "admin",
    "admin.organisations": "admin",
    "admin.organisation": "admin",
    "admin.add_organisation_domain": "admin",
    "admin.users": "admin",
    "admin.user": "admin",
    "admin.suspend": "admin",
    "admin.end_sessions": "admin",
    "admin.sessions": "admin",
    "admin.end_all_sessions": "admin",
    "admin.reactivate": "admin",
    "admin.set_role": "admin",
    "admin.focal_point": "admin",
    "admin.reset_second_factor": "admin",
    "admin.grant": "admin",
    "admin.revoke": "admin",
    "admin.providers": "admin",
    "admin.provider": "admin",
    "admin.approvals": "approver",
    "admin.approve": "approver",
    "admin.reject": "approver",
    "api.me": "token",
    "api.clusters": "token",
    "api.unknown": "not_found",
    "api.openapi": "public",
    "api.list_posts": "token",
    "api.search": "token",
    "api.get_post": "token",
    "api.create_post": "token",
    "api.update_post": "token_editor",
    "api.delete_post": "token_editor",
    "attachments.upload": "post_editor",
    "attachments.download": "signed_in",
    "attachments.audience": "signed_in",
    "attachments.delete": "post_editor",
    "attachments.edit": "post_editor",
    "attachments.versions": "signed_in",
    "attachments.upload_version": "post_editor",
    "attachments.download_version": "signed_in",
    "attachments.preview": "signed_in",
    "attachments.thumbnail": "signed_in",
    "attachments.post_files": "signed_in",
    "api.upload_attachment": "token_editor",
    "api.download_attachment": "token",
    "api.delete_attachment": "token_editor",
    "api.update_attachment": "token_editor",
}

ACCESS.update(WORKPLAN_ACCESS)
ACCESS.update(MEETINGS_ACCESS)
ACCESS.update(PACKS_ACCESS)
ACCESS.update(NOTIFICATIONS_ACCESS)
ACCESS.update(PRIVACY_ACCESS)
ACCESS.update(AUDIT_ACCESS)
ACCESS.update(STATS_ACCESS)
ACCESS.update(IDENTITY_ACCESS)
ACCESS.update(ONBOARDING_ACCESS)
ACCESS.update(TAXII_ACCESS)

#: The roles each workplan and meeting access class admits (``token_<class>`` is the same
#: through the API). The sample workplan item and meeting belong to the policy cluster, whose
#: coordinator the "coordinator" role is; the sample meeting's organiser is not among the roles.
#: curator: curators only; workplan_updater: curators and the item's cluster coordinators;
#: meeting_scheduler: curators and coordinators (of any cluster); meeting_preparer: curators and
#: the technical meeting's cluster coordinators; meeting_deleter: curators (and the organiser);
#: document_remover: as meeting_preparer (and the document's author).
CURATION_ROLES = {
    "curator": {"curator"},
    "workplan_updater": {"curator", "coordinator"},
    "meeting_scheduler": {"curator", "coordinator"},
    "meeting_preparer": {"curator", "coordinator"},
    "meeting_deleter": {"curator"},
    "document_remover": {"curator", "coordinator"},
    # a cluster's member page's grant form (issue 19): its coordinators, focal points, administrators
    "member_granter": {"admin", "focal_point", "coordinator"},
    # the audit log: administrators and auditors (tests/support/access_audit.py)
    "audit_viewer": {"admin", "auditor"},
}

#: Query strings a route needs to answer at all.
QUERY = {"api.search": "?q=sample"}

#: Signed-in actions whose success signs the user out, so they end on the sign-in page.
SIGN_OUT = {
    "account.revoke_all_sessions",
    "account.revoke_one_session",  # its own session, as here, signs out
    "account.remove_mfa",
    "account.sign_in_again",
}


@dataclass(frozen=True)
class Cell:
    endpoint: str
    rule: str
    method: str


def _cells() -> list[Cell]:
    from app import create_app
    from tests.conftest import make_config

    app = create_app(make_config(__import__("pathlib").Path("/tmp"), "sqlite://"))
    cells = []
    for rule in app.url_map.iter_rules():
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            cells.append(Cell(rule.endpoint, rule.rule, method))
    return sorted(cells, key=lambda c: (c.endpoint, c.rule, c.method))


CELLS = _cells()


def test_every_route_has_an_access_rule():
    missing = sorted({c.endpoint for c in CELLS} - set(ACCESS))
    stale = sorted(set(ACCESS) - {c.endpoint for c in CELLS})
    assert missing == [], f"routes without an access rule: {missing}"
    assert stale == [], f"access rules for routes that no longer exist: {stale}"


class World:
    """The accounts and objects one matrix cell needs, made fresh for every cell."""

    def __init__(self, make, app) -> None:  # type: ignore[no-untyped-def]
        from app.auth.tokens import create_token

        self.app = app
        self.make = make
        self.org = make.org("port_authority")
        self.focal = make.user(org=self.org, focal_point=True)
        self.colleague = make.user(org=self.org, clusters={"policy": "contributor"})
        self.colleague_token, _ = create_token(self.colleague, "t", "read", 30)
        db.session.commit()

    # The objects a route's URL names are made when the URL is filled in, after the requester has
    # signed in, and only for the routes that name them: most cells need none of them.

    def pending_user(self) -> int:
        return self.make.user(org=self.org, status="pending").id

    def provider(self) -> int:
        from app.auth.sso import add_provider

        if not hasattr(self, "_provider"):
            self._provider = add_provider(self.org, "Org SSO", "http://127.0.0.1:9", "pax", "secret")
        return self._provider.id

    def invitation(self) -> int:
        """An open invitation into the sample organisation, sent by its focal point."""
        from app.auth.invitations import invite

        return invite(self.focal, self.org, f"invitee@{self.org.email_domains[0]}", "Invited Colleague").id

    def link_request(self) -> int:
        """A provider identity asking to open the colleague's account (decided by the focal point)."""
        from app.auth.links import request_link
        from app.auth.models import IdentityProvider

        provider = db.session.get(IdentityProvider, self.provider())
        return request_link(self.colleague, provider, "sample-sub", self.colleague.email)[0].id

    def post(self) -> int:
        from app.clusters.services import publish_post
        from app.clusters.validation import parse_post

        if not hasattr(self, "_post"):
            self._post = publish_post(
                self.colleague,
                parse_post(
                    {"type": "best_practice", "cluster": "policy", "title": "Sample", "body": "Text", "tlp": "GREEN"}
                ),
            )
        return self._post.id

    def attachment(self) -> int:
        from app.clusters.attachments import attach_file
        from app.policy import post_or_404

        post = post_or_404(self.colleague, self.post())
        attachment, _meta = attach_file(self.colleague, post, "sample.png", [SAMPLE_PNG], 10**6)
        return attachment.id

    def comment(self) -> int:
        """A comment on the sample post by the sample organisation's focal point."""
        from app.clusters.services import add_comment
        from app.policy import post_or_404

        if not hasattr(self, "_comment"):
            self._comment = add_comment(self.focal, post_or_404(self.focal, self.post()), "Sample comment")
        return self._comment.id

    def draft(self) -> int:
        """A draft of the colleague's: nobody asking is its author, so it is found by no one."""
        from app.drafts.services import save_draft

        if not hasattr(self, "_draft"):
            self._draft = save_draft(self.colleague, "clusters.comment", "/dashboard", [("body", "Unsent words")])
        return self._draft.id

    def workplan_and_meeting(self, name: str) -> int:
        if not hasattr(self, "item"):
            self._workplan_and_meeting()
        return {
            "item_id": self.item.id,
            "meeting_id": self.meeting.id,
            "agenda_item_id": self.agenda_item.id,
            "document_id": self.document.id,
            "meeting_invitation_id": self.meeting_invitation.id,
            "year": 2026,
        }[name]

    def _workplan_and_meeting(self) -> None:
        """A policy-cluster workplan item, and a GREEN technical policy meeting organised by a
        colleague with one agenda item and one document."""
        from datetime import UTC, datetime

        from app.clusters.models import Cluster
        from app.files.services import store_file
        from app.markings import Tlp
        from app.meetings.models import AgendaItem, Meeting, MeetingDocument, MeetingDocumentVersion, MeetingKind
        from app.workplan.models import WorkplanItem
        from app.workplan.services import workplan_of

        policy = db.session.scalar(sa.select(Cluster).where(Cluster.slug == "policy"))
        self.item = WorkplanItem(workplan=workplan_of(2026), cluster=policy, title="Sample item")
        db.session.add(self.item)
        self.meeting = Meeting(
            kind=MeetingKind.TECHNICAL,
            cluster=policy,
            title="Sample meeting",
            starts_at=datetime(2026, 12, 1, 9, tzinfo=UTC),
            ends_at=datetime(2026, 12, 1, 17, tzinfo=UTC),
            location="Brussels",
            tlp=Tlp.GREEN,
            author=self.colleague,
            author_org_id=self.org.id,
        )
        self.agenda_item = AgendaItem(meeting=self.meeting, position=1, title="Welcome")
        db.session.add_all([self.meeting, self.agenda_item])
        stored, _meta = store_file("meeting", [SAMPLE_PNG], "agenda.png", self.colleague, 10**6)
        self.document = MeetingDocument(
            meeting=self.meeting,
            agenda_item=self.agenda_item,
            file=stored,
            title="Agenda",
            tlp=Tlp.GREEN,
            author=self.colleague,
            author_org_id=self.org.id,
        )
        self.document.versions.append(
            MeetingDocumentVersion(number=1, file=stored, author_id=self.colleague.id, author_org_id=self.org.id)
        )
        db.session.add(self.document)
        db.session.flush()
        from app.meetings.models import InvitationKind, MeetingInvitation, MeetingParticipant

        self.meeting_invitation = MeetingInvitation(
            meeting=self.meeting, kind=InvitationKind.ORGANISATION, organisation_id=self.org.id, delegation_size=2
        )
        db.session.add(self.meeting_invitation)
        db.session.flush()
        self.participation = MeetingParticipant(
            meeting_id=self.meeting.id, user_id=self.focal.id, invitation_id=self.meeting_invitation.id
        )
        db.session.add(self.participation)
        db.session.flush()

    def account(self, role: str):  # type: ignore[no-untyped-def]
        make = self.make
        if role == "focal_point":
            return self.focal
        if role == "coordinator":
            return make.user(clusters={"policy": "coordinator"})
        if role in ("curator", "admin", "auditor"):
            return make.user(role=role, org_type="commission")
        return make.user(clusters={"policy": "contributor"})

    def url(self, cell: Cell, own: dict[str, int]) -> str:
        """The route's URL with sample values; the requester's own token and session where it has them."""
        from app.clusters.models import Cluster
        from app.taxii.ids import collection_id, post_object_id

        policy_id = db.session.scalar(sa.select(Cluster.id).where(Cluster.slug == "policy"))
        approving = cell.endpoint in ("admin.approve", "admin.reject")
        samples: dict[str, Callable[[], object]] = {
            "user_id": self.pending_user if approving else lambda: self.colleague.id,
            "organisation_id": lambda: self.org.id,
            "provider_id": self.provider,
            "request_id": self.link_request,
            "invitation_id": self.invitation,
            "token": lambda: "no-such-link",
            "token_id": lambda: own.get("token_id", self.colleague_token.id),
            "session_id": lambda: own.get("session_id", 999999),
            "cluster_id": lambda: policy_id,
            "slug": lambda: "policy",
            "code": lambda: "de",
            # A post's files zip needs a file to hold (an empty one answers 404, as an empty pack).
            "post_id": self.post
            if cell.endpoint != "attachments.post_files"
            else lambda: (self.attachment(), self.post())[1],
            "number": lambda: 1,
            "attachment_id": self.attachment,
            "comment_id": self.comment,
            "draft_id": self.draft,
            "path": lambda: "no-such-thing",
            "filename": lambda: "css/pax.css",
            "collection_id": lambda: collection_id("policy"),
            "object_id": lambda: post_object_id(self.post(), "report"),
        }
        for name in ("item_id", "year", "meeting_id", "agenda_item_id", "document_id", "meeting_invitation_id"):
            samples[name] = lambda name=name: self.workplan_and_meeting(name)

        def fill(match: re.Match[str]) -> str:
            name = match.group(1).split(":")[-1]
            assert name in samples, f"no sample value for URL parameter {name!r} of {cell.rule}"
            return str(samples[name]())

        if "workplan" in cell.endpoint:
            self.workplan_and_meeting("year")  # the workplan's pages and API answer 404 without one
        url = re.sub(r"<([^>]+)>", fill, cell.rule)
        db.session.commit()
        return url + QUERY.get(cell.endpoint, "")


def _expected(access: str, role: str) -> str:
    if access == "public":
        return "ok"
    if access == "guest":
        return "no_server_error"
    if access == "not_found":
        return "not_found"
    if access in ("token", "signed_in_script"):
        # signed_in_script: what a page's script asks (autosave) answers 401 in words, not a redirect.
        return "ok" if role in ACTIVE else "unauthorized"
    if access.startswith("token_") and access[len("token_") :] in CURATION_ROLES:
        if role not in ACTIVE:
            return "unauthorized"
        return "ok" if role in CURATION_ROLES[access[len("token_") :]] else "denied"
    if access == "token_editor":
        if role not in ACTIVE:
            return "unauthorized"
        return "ok" if role == "focal_point" else "denied"
    if role not in ACTIVE:
        return "login"
    if access == "signed_in":
        return "ok"
    if access == "admin":
        return "ok" if role == "admin" else "denied"
    if access == "focal_point":
        return "ok" if role == "focal_point" else "denied"
    if access in ("link_owner", "draft_owner"):
        return "denied"
    if access == "approver":
        return "ok" if role in ("admin", "focal_point") else "denied"
    if access == "contributor":
        return "ok" if role in ("member", "coordinator") else "denied"
    if access == "commenter":
        return "ok" if role in ("member", "coordinator", "focal_point") else "denied"
    if access in ("post_editor", "comment_author"):
        return "ok" if role == "focal_point" else "denied"
    if access in CURATION_ROLES:
        return "ok" if role in CURATION_ROLES[access] else "denied"
    raise AssertionError(f"unknown access class {access}")


#: Access classes whose answer no policy decision gives (anyone reaches them, or nobody does by
#: the sample address): their routes are asked as every role over HTTP.
WITHOUT_POLICY = {"public", "guest", "not_found", "link_owner", "draft_owner"}


def _http_cases() -> Iterator[tuple[Cell, str]]:
    """Each route with one role per answer it gives, rotating through the roles that share it."""
    for index, cell in enumerate(CELLS):
        access = ACCESS.get(cell.endpoint, "public")
        if access in WITHOUT_POLICY:
            yield from ((cell, role) for role in ROLES)
            continue
        by_answer: dict[str, list[str]] = {}
        for role in ROLES:
            by_answer.setdefault(_expected(access, role), []).append(role)
        for roles in by_answer.values():
            yield cell, roles[index % len(roles)]


HTTP_CASES = list(_http_cases())


@pytest.mark.parametrize(("cell", "role"), HTTP_CASES, ids=[f"{c.method} {c.rule}-{r}" for c, r in HTTP_CASES])
def test_route_answers_each_role_as_its_rule_says(cell, role, app, make):
    from app.auth.tokens import create_token
    from tests.conftest import csrf_token_from, sign_in

    world = World(make, app)
    client = app.test_client()
    from app.auth.models import UserSession

    headers = {}
    own: dict[str, int] = {}
    if role != "anonymous":
        user = world.account(role)
        sign_in(client, make, user)
        # API writes are signed with a write-scope token, reads with a read-scope one.
        scope = "read" if cell.method == "GET" else "write"
        token, secret = create_token(user, "matrix", scope, 30)
        db.session.commit()
        headers["Authorization"] = f"Bearer {secret}"
        own["token_id"] = token.id
        own["session_id"] = db.session.scalar(
            sa.select(sa.func.max(UserSession.id)).where(UserSession.user_id == user.id)
        )
        if role in ("pending", "suspended"):
            # An account that was active and signed in, then changed: its cookie and token die.
            db.session.execute(sa.update(User).where(User.id == user.id).values(status=UserStatus(role)))
            db.session.commit()
    url = world.url(cell, own)
    if cell.method == "GET":
        response = client.get(url, headers=headers)
    else:
        page = client.get("/login").get_data(as_text=True)
        if "csrf_token" not in page:
            page = client.get("/account/").get_data(as_text=True) if role in ACTIVE else page
        token = csrf_token_from(page)
        response = client.open(url, method=cell.method, data={"csrf_token": token}, headers=headers)

    status = response.status_code
    location = response.headers.get("Location", "")
    expected = _expected(ACCESS[cell.endpoint], role)
    where = f"{cell.method} {url} as {role}: {status} {location}"
    if expected == "ok":
        # An empty POST may be refused for its content (400, 422) but never for who sent it.
        assert cell.endpoint in SIGN_OUT or not location.startswith("/login"), where
        assert status < 400 if cell.method == "GET" else status < 500 and status not in (401, 403, 404), where
    elif expected == "no_server_error":
        assert status != 500, where
    elif expected == "login":
        assert status == 302 and location.startswith("/login"), where
    elif expected == "denied":
        assert status in (403, 404), where
    elif expected == "unauthorized":
        assert status == 401, where
    elif expected == "not_found":
        assert status == 404, where


# --- the same matrix, asked of the policy --------------------------------------------------------

#: The ``policy.can`` actions the routes of each access class ask, with the sample object they
#: are asked about (``World.target``); ``token_<class>`` asks the same through the API.
POLICY_CHECKS: dict[str, list[tuple[str, str | None]]] = {
    "signed_in": [("view_dashboard", None), ("view_cluster", "cluster"), ("manage_own_account", None)],
    "token": [("view_cluster", "cluster")],
    "signed_in_script": [("manage_own_account", None)],
    "admin": [
        ("administer", None),
        ("manage_organisations", None),
        ("manage_identity_providers", None),
        ("manage_memberships", "colleague"),
        ("view_users", "colleague"),
        ("suspend_user", "colleague"),
        ("end_user_sessions", "colleague"),
        ("end_all_sessions", None),
        ("reactivate_user", "colleague"),
        ("erase_user", "colleague"),
        ("change_role", "colleague"),
        ("reset_mfa", "colleague"),
        ("send_password_reset", "colleague"),
        ("set_focal_point", "colleague"),
    ],
    "approver": [
        ("view_approvals", None),
        ("approve_user", "pending_user"),
        ("invite_users", None),
        ("invite_users", "org"),
        ("manage_invitation", "invitation"),
    ],
    "focal_point": [
        ("manage_org_sign_in", None),
        ("confirm_mfa_exemption", "provider"),
        ("decide_identity_link", "link_request"),
        ("name_delegation", "meeting_invitation"),
        ("answer_invitation", "participation"),
    ],
    "contributor": [("create_post", "cluster")],
    "commenter": [("comment_post", "post")],
    "post_editor": [("edit_post", "post"), ("delete_post", "post"), ("attach_file", "post")],
    "comment_author": [("edit_comment", "comment")],
    "curator": [("manage_workplan", None), ("record_action_point", "meeting")],
    "workplan_updater": [("update_workplan_item", "item")],
    "meeting_scheduler": [("open_meeting_form", None), ("schedule_meeting", "cluster")],
    "meeting_preparer": [
        ("edit_meeting", "meeting"),
        ("add_meeting_document", "meeting"),
        ("invite_to_meeting", "meeting"),
        ("export_participants", "meeting"),
    ],
    "meeting_deleter": [("delete_meeting", "meeting")],
    "document_remover": [("remove_meeting_document", "document")],
    "audit_viewer": [("view_audit", None)],
    "member_granter": [("manage_cluster_members", "cluster")],
}
POLICY_CHECKS["token_editor"] = POLICY_CHECKS["post_editor"]
for _name in CURATION_ROLES:
    POLICY_CHECKS[f"token_{_name}"] = POLICY_CHECKS[_name]


def test_every_access_class_has_policy_checks():
    classes = set(ACCESS.values()) - WITHOUT_POLICY
    assert sorted(classes - set(POLICY_CHECKS)) == []


def _target(world: World, name: str | None):  # type: ignore[no-untyped-def]
    from app.auth.models import IdentityLinkRequest, IdentityProvider
    from app.auth.onboarding_models import Invitation
    from app.clusters.models import Cluster, Comment, Post
    from app.meetings.models import Meeting, MeetingDocument, MeetingInvitation, MeetingParticipant
    from app.workplan.models import WorkplanItem

    if name is None:
        return None
    if not hasattr(world, "_targets"):
        world.workplan_and_meeting("year")
        world._targets = {
            "cluster": db.session.scalar(sa.select(Cluster).where(Cluster.slug == "policy")),
            "org": world.org,
            "colleague": world.colleague,
            "pending_user": db.session.get(User, world.pending_user()),
            "invitation": db.session.get(Invitation, world.invitation()),
            "provider": db.session.get(IdentityProvider, world.provider()),
            "link_request": db.session.get(IdentityLinkRequest, world.link_request()),
            "post": db.session.get(Post, world.post()),
            "comment": db.session.get(Comment, world.comment()),
            "item": db.session.get(WorkplanItem, world.item.id),
            "meeting": db.session.get(Meeting, world.meeting.id),
            "document": db.session.get(MeetingDocument, world.document.id),
            "meeting_invitation": db.session.get(MeetingInvitation, world.meeting_invitation.id),
            "participation": db.session.get(MeetingParticipant, world.participation.id),
        }
        db.session.commit()
    return world._targets[name]


def _sees_the_samples(world: World, user) -> dict[str, bool]:  # type: ignore[no-untyped-def]
    """Whether ``user`` finds each sample object through its ``visible_*`` expression."""
    from app import policy
    from app.clusters.models import Cluster, Post
    from app.meetings.models import Meeting, MeetingDocument
    from app.workplan.models import WorkplanItem

    def found(stmt: sa.Select) -> bool:
        return db.session.scalar(stmt) is not None

    document = _target(world, "document")
    return {
        "cluster": found(sa.select(Cluster.id).where(Cluster.slug == "policy", policy.visible_clusters(user))),
        "post": found(sa.select(Post.id).where(Post.id == _target(world, "post").id, policy.visible_posts(user))),
        "meeting": found(
            sa.select(Meeting.id).where(Meeting.id == _target(world, "meeting").id, policy.visible_meetings(user))
        ),
        "document": found(
            sa.select(MeetingDocument.id)
            .join(Meeting, Meeting.id == MeetingDocument.meeting_id)
            .where(MeetingDocument.id == document.id, policy.visible_meeting_documents(user))
        ),
        "item": found(
            sa.select(WorkplanItem.id).where(
                WorkplanItem.id == _target(world, "item").id, policy.visible_workplan_items(user)
            )
        ),
    }


@pytest.mark.parametrize("role", ROLES)
def test_policy_answers_each_role_as_its_access_class_says(role, app, make):
    """Every (access class, role) pair of the matrix, asked of ``policy.can`` and ``visible_*``."""
    from app import policy
    from app.auth.sessions import AnonymousUser
    from app.auth.tokens import create_token, resolve_token

    world = World(make, app)
    secret = None
    if role == "anonymous":
        user = AnonymousUser()
    else:
        user = world.account(role)
        _token, secret = create_token(user, "matrix", "write", 30)
        if role in ("pending", "suspended"):
            user.status = UserStatus(role)
        db.session.commit()
    samples = _sees_the_samples(world, user)
    resolved = resolve_token(secret) if secret else None
    wrong: list[str] = []
    if role in ACTIVE:
        wrong += [f"does not see the sample {name}" for name, seen in samples.items() if not seen]
        if not user.is_active:
            wrong.append("its session would not be loaded")
        if resolved is None or resolved.user_id != user.id:
            wrong.append("its token is not resolved")
    else:
        wrong += [f"sees the sample {name}" for name, seen in samples.items() if seen]
        if getattr(user, "is_active", False):
            wrong.append("its session would be loaded")
        if resolved is not None:
            wrong.append("its token is resolved")
    for access in sorted(set(ACCESS.values()) - WITHOUT_POLICY):
        expected = _expected(access, role)
        assert expected in ("ok", "denied", "login", "unauthorized"), (access, role, expected)
        for action, target_name in POLICY_CHECKS[access]:
            allowed = policy.can(user, action, _target(world, target_name))
            if allowed != (expected == "ok"):
                wrong.append(f"{access}: can({action}, {target_name}) is {allowed}, expected {expected}")
    assert wrong == [], f"{role}: {wrong}"
