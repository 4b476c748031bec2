"""The "who can see this" panel lists exactly the people the read rule admits (issue 19, item 5).

Hypothesis generates worlds on a fixed pool of organisations (a port authority, a terminal
operator, a police force, the Commission) and accounts: which organisation each account belongs
to, whether it is active, its cluster memberships, and an item (a post, a file of a post written
under an earlier marking, a meeting, a meeting document) with a marking, the law-enforcement
flag, an author and named recipients. For each world the panel's audience (``audience_of``) must
be exactly the accounts for which the item's ``visible_*`` expression, asked as that account,
admits it; every admitted account must be admitted by at least one named rule; the edit form's
preview (``proposed_audience``) of the item's own marking must give the same people; and the
panel's counts must add up.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.extensions import db

TLPS = ["CLEAR", "GREEN", "AMBER", "AMBER+STRICT", "RED"]
CLUSTERS = ["policy", "operational-cooperation"]
ACCOUNTS = 8
ORG_TYPES = ["port_authority", "terminal_operator", "police", "commission"]
EXAMPLES = 60


@pytest.fixture
def pool(make: Any) -> dict[str, Any]:
    from app.clusters.models import Cluster

    orgs = [make.org(t) for t in ORG_TYPES]
    accounts = [make.user(orgs[0]) for _ in range(ACCOUNTS)]
    clusters = [db.session.scalar(sa.select(Cluster).where(Cluster.slug == slug)) for slug in CLUSTERS]
    return {"orgs": orgs, "accounts": accounts, "clusters": clusters, "admin": make.user(orgs[3], role="admin")}


marking = st.fixed_dictionaries(
    {
        "tlp": st.sampled_from(TLPS),
        "le": st.booleans(),
        "orgs": st.sets(st.integers(0, len(ORG_TYPES) - 1), max_size=2),
        "users": st.sets(st.integers(0, ACCOUNTS - 1), max_size=3),
        "cluster": st.integers(0, len(CLUSTERS) - 1),
    }
)
worlds = st.fixed_dictionaries(
    {
        "org_of": st.lists(st.integers(0, len(ORG_TYPES) - 1), min_size=ACCOUNTS, max_size=ACCOUNTS),
        "active": st.lists(st.booleans(), min_size=ACCOUNTS, max_size=ACCOUNTS).map(lambda a: [True, *a[1:]]),
        "memberships": st.lists(st.sets(st.integers(0, len(CLUSTERS) - 1)), min_size=ACCOUNTS, max_size=ACCOUNTS),
        "kind": st.sampled_from(["post", "attachment", "meeting", "document"]),
        "author": st.integers(0, ACCOUNTS - 1),
        "marking": marking,
        # The file's marking when it was added, or the document's own (meeting documents).
        "earlier": marking,
        "no_cluster": st.booleans(),
    }
)


def _apply_world(pool: dict[str, Any], world: dict[str, Any]) -> None:
    from app.auth.models import UserStatus
    from app.clusters.models import ClusterMembership, MembershipRole

    accounts, orgs, clusters = pool["accounts"], pool["orgs"], pool["clusters"]
    ids = [a.id for a in accounts]
    db.session.execute(sa.delete(ClusterMembership).where(ClusterMembership.user_id.in_(ids)))
    for n, account in enumerate(accounts):
        account.organisation_id = orgs[world["org_of"][n]].id
        account.status = UserStatus.ACTIVE if world["active"][n] or n == world["author"] else UserStatus.SUSPENDED
        for c in world["memberships"][n]:
            db.session.add(
                ClusterMembership(user_id=account.id, cluster_id=clusters[c].id, role=MembershipRole.CONTRIBUTOR)
            )
    db.session.flush()
    db.session.expire_all()


def _recipients(pool: dict[str, Any], mark: dict[str, Any], org_model: Any, user_model: Any) -> tuple[list, list]:
    orgs = [org_model(organisation_id=pool["orgs"][i].id) for i in sorted(mark["orgs"])]
    users = [user_model(user_id=pool["accounts"][i].id) for i in sorted(mark["users"])]
    return orgs, users


def _make_item(pool: dict[str, Any], world: dict[str, Any]) -> Any:
    from app.clusters.models import Attachment, Post, PostRecipientOrg, PostRecipientUser, PostType
    from app.files.services import store_file
    from app.markings import Tlp, snapshot_of
    from app.meetings.models import Meeting, MeetingDocument, MeetingKind, MeetingRecipientOrg, MeetingRecipientUser

    author = pool["accounts"][world["author"]]
    mark = world["marking"]
    cluster = pool["clusters"][mark["cluster"]]
    base = {
        "tlp": Tlp(mark["tlp"]),
        "law_enforcement_only": mark["le"],
        "author_id": author.id,
        "author_org_id": author.organisation_id,
    }
    if world["kind"] in ("post", "attachment"):
        orgs, users = _recipients(pool, mark, PostRecipientOrg, PostRecipientUser)
        post = Post(
            type=PostType.BEST_PRACTICE, cluster_id=cluster.id, title="T", body="B", body_html="<p>B</p>",
            recipient_orgs=orgs, recipient_users=users, **base,
        )  # fmt: skip
        db.session.add(post)
        db.session.flush()
        if world["kind"] == "post":
            return post
        earlier = world["earlier"]
        org_ids, user_ids = _recipients(pool, earlier, SimpleNamespace, SimpleNamespace)
        then = SimpleNamespace(
            tlp=Tlp(earlier["tlp"]), law_enforcement_only=earlier["le"], author_id=author.id,
            author_org_id=author.organisation_id, recipient_orgs=org_ids, recipient_users=user_ids,
        )  # fmt: skip
        stored, _meta = store_file("attachment", [b"file"], "f.txt", author, 1 << 20)
        attachment = Attachment(
            post=post, file=stored, marking_id=snapshot_of(then, pool["clusters"][earlier["cluster"]].id).id
        )
        db.session.add(attachment)
        db.session.flush()
        return attachment
    orgs, users = _recipients(pool, mark, MeetingRecipientOrg, MeetingRecipientUser)
    starts = datetime(2027, 3, 2, 9, tzinfo=UTC)
    meeting = Meeting(
        kind=MeetingKind.SENIOR_OFFICIALS if world["no_cluster"] else MeetingKind.TECHNICAL,
        cluster_id=None if world["no_cluster"] else cluster.id,
        title="M", starts_at=starts, ends_at=starts + timedelta(hours=2),
        recipient_orgs=orgs, recipient_users=users, **base,
    )  # fmt: skip
    db.session.add(meeting)
    db.session.flush()
    if world["kind"] == "meeting":
        return meeting
    own = world["earlier"]
    # A document is as strict as its meeting or stricter.
    tlp = max(Tlp(own["tlp"]), Tlp(mark["tlp"]), key=lambda t: t.rank)
    stored, _meta = store_file("meeting", [b"doc"], "d.txt", author, 1 << 20)
    document = MeetingDocument(
        meeting_id=meeting.id, title="D", file=stored, tlp=tlp, law_enforcement_only=own["le"] or mark["le"],
        author_id=author.id, author_org_id=author.organisation_id,
    )  # fmt: skip
    db.session.add(document)
    db.session.flush()
    return document


def _admitted_one_by_one(item: Any, accounts: list[Any]) -> set[int]:
    from app.clusters.models import Attachment, Post
    from app.meetings.models import Meeting, MeetingDocument
    from app.policy import visible_attachments, visible_meeting_documents, visible_meetings, visible_posts

    admitted = set()
    for account in accounts:
        if isinstance(item, Post):
            stmt = sa.select(Post.id).where(Post.id == item.id, visible_posts(account))
        elif isinstance(item, Attachment):
            stmt = sa.select(Attachment.id).join(Post, Post.id == Attachment.post_id)
            stmt = stmt.where(Attachment.id == item.id, visible_attachments(account))
        elif isinstance(item, Meeting):
            stmt = sa.select(Meeting.id).where(Meeting.id == item.id, visible_meetings(account))
        else:
            stmt = sa.select(MeetingDocument.id).join(Meeting, Meeting.id == MeetingDocument.meeting_id)
            stmt = stmt.where(MeetingDocument.id == item.id, visible_meeting_documents(account))
        if db.session.scalar(stmt) is not None:
            admitted.add(account.id)
    return admitted


def test_the_panel_lists_exactly_whom_the_read_rule_admits(pool: dict[str, Any]) -> None:
    from app.clusters.models import Post
    from app.directory.audience import audience_panel
    from app.markings import Marking
    from app.meetings.models import Meeting
    from app.policy import audience_of, proposed_audience

    everyone = [*pool["accounts"], pool["admin"]]
    seen = {"post": 0, "attachment": 0, "meeting": 0, "document": 0}

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(world=worlds)
    def check(world: dict[str, Any]) -> None:
        _apply_world(pool, world)
        item = _make_item(pool, world)
        seen[world["kind"]] += 1
        members = audience_of(item)
        listed = {m.user_id for m in members}
        assert listed == _admitted_one_by_one(item, everyone), world
        assert all(m.rules for m in members), world
        if isinstance(item, Post | Meeting):
            proposed = {m.user_id for m in proposed_audience(item, Marking.of(item), item.cluster_id)}
            assert proposed == listed, world
        author = pool["accounts"][world["author"]]
        panel = audience_panel(author, item)
        assert panel.people == len(listed) == sum(org.people for org in panel.organisations)

    check()
    assert all(seen.values()), seen
