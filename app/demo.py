"""Demo organisations, users and memberships for ``make run`` and the browser tests.

Loading is idempotent: each record is looked up by its natural key first, so a second run
changes nothing. Every demo account shares ``DEMO_PASSWORD`` (README.md lists them).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from app.auth.models import GlobalRole, UserStatus
from app.auth.services import create_user, find_user_by_email, grant_membership
from app.directory.services import create_organisation, find_organisation

DEMO_PASSWORD = "pax-demo-password"  # noqa: S105 (documented demo credential, local runs only)


@dataclass(frozen=True)
class DemoOrg:
    name: str
    type: str
    country: str
    domain: str


@dataclass(frozen=True)
class DemoUser:
    email: str
    name: str
    org: str
    role: str = GlobalRole.MEMBER.value
    focal_point: bool = False
    status: UserStatus = UserStatus.ACTIVE
    clusters: tuple[tuple[str, str], ...] = ()


ORGS = [
    DemoOrg("Port of Antwerp-Bruges Authority", "port_authority", "BE", "portofantwerpbruges.example"),
    DemoOrg("Rotterdam Container Terminals", "terminal_operator", "NL", "rct.example"),
    DemoOrg("Hanseatic Shipping Line", "shipping_line", "DE", "hanseatic-line.example"),
    DemoOrg("Belgian Customs", "customs", "BE", "customs-be.example"),
    DemoOrg("Dutch National Police", "police", "NL", "politie-nl.example"),
    DemoOrg("Europol", "eu_agency", "NL", "europol.example"),
    DemoOrg("European Commission, DG HOME", "commission", "BE", "ec-home.example"),
    DemoOrg("PAX Platform Operations", "commission", "LU", "pax-ops.example"),
]

USERS = [
    DemoUser(
        "anna.peeters@portofantwerpbruges.example",
        "Anna Peeters",
        "Port of Antwerp-Bruges Authority",
        focal_point=True,
        clusters=(("operational-cooperation", "coordinator"), ("infiltration-corruption", "contributor")),
    ),
    DemoUser(
        "jan.devries@rct.example",
        "Jan de Vries",
        "Rotterdam Container Terminals",
        clusters=(("operational-cooperation", "contributor"), ("innovation", "reader")),
    ),
    DemoUser(
        "lena.schmidt@hanseatic-line.example",
        "Lena Schmidt",
        "Hanseatic Shipping Line",
        clusters=(("policy", "reader"), ("innovation", "contributor")),
    ),
    DemoUser(
        "marc.dubois@customs-be.example",
        "Marc Dubois",
        "Belgian Customs",
        clusters=(("operational-cooperation", "contributor"), ("infiltration-corruption", "contributor")),
    ),
    DemoUser(
        "sanne.jansen@politie-nl.example",
        "Sanne Jansen",
        "Dutch National Police",
        clusters=(("operational-cooperation", "contributor"),),
    ),
    DemoUser(
        "piotr.nowak@europol.example",
        "Piotr Nowak",
        "Europol",
        clusters=(("infiltration-corruption", "coordinator"), ("policy", "reader")),
    ),
    DemoUser(
        "claire.martin@ec-home.example",
        "Claire Martin",
        "European Commission, DG HOME",
        role=GlobalRole.CURATOR.value,
        clusters=(("policy", "coordinator"),),
    ),
    DemoUser("admin@pax-ops.example", "Platform Administrator", "PAX Platform Operations", role=GlobalRole.ADMIN.value),
    DemoUser("auditor@pax-ops.example", "Platform Auditor", "PAX Platform Operations", role=GlobalRole.AUDITOR.value),
    DemoUser(
        "tom.bakker@rct.example",
        "Tom Bakker",
        "Rotterdam Container Terminals",
        status=UserStatus.PENDING,
    ),
]


WORKPLAN_ITEMS = [
    ("operational-cooperation", "Common risk indicators for container misuse", "2026-06-30", "in_progress"),
    ("infiltration-corruption", "Guidance on vetting port staff with access to containers", "2026-09-30", "planned"),
    ("policy", "Report on the implementation of the EU Ports Roadmap", "2026-12-15", "planned"),
    ("innovation", "Inventory of scanning and detection pilots in EU ports", "2026-05-31", "delivered"),
]

#: (author e-mail, cluster, type, TLP, LE only, title, body, tags, extra)
POSTS = [
    (
        "anna.peeters@portofantwerpbruges.example",
        "operational-cooperation",
        "best_practice",
        "GREEN",
        False,
        "Sealing empty containers before they leave the stack",
        "Empty containers are a favoured vehicle for **rip-on/rip-off** loads.\n\n"
        "- Seal every empty container when it leaves the stack\n- Record the seal number in the terminal "
        "operating system\n- Check the seal again at the gate",
        ["rip-off", "seals", "empties"],
        {},
    ),
    (
        "jan.devries@rct.example",
        "operational-cooperation",
        "best_practice",
        "AMBER",
        False,
        "PIN code hygiene for container release",
        "Release PINs must be single use, delivered to the haulier only, and expire after pick-up. "
        "We moved to certified pick-up with identity checks in 2025.",
        ["pin-code", "release"],
        {},
    ),
    (
        "marc.dubois@customs-be.example",
        "operational-cooperation",
        "incident_note",
        "AMBER",
        True,
        "Extraction team intercepted in the reefer zone",
        "Two persons were found inside a reefer container waiting to extract bags from a container "
        "arriving from South America.",
        ["extraction"],
        {
            "incident": {
                "port_locode": "BEANR",
                "occurred_on": "2026-10-14",
                "modus_operandi": "extraction_team",
                "substance": "cocaine",
                "quantity_kg": 410,
                "container_numbers": ["CSQU3054383"],
                "vessel_imo": "9074729",
            },
            "files": [
                (
                    "reefer-zone-timeline.csv",
                    b"time,event\n2026-10-14T02:10,reefer CSQU3054383 discharged\n"
                    b"2026-10-14T03:45,thermal camera alert in reefer zone\n2026-10-14T03:58,two persons detained\n",
                )
            ],
        },
    ),
    (
        "piotr.nowak@europol.example",
        "infiltration-corruption",
        "best_practice",
        "AMBER+STRICT",
        False,
        "Indicators of insider recruitment",
        "Sudden changes of shift, interest in systems outside one's role and unexplained wealth are "
        "recurring indicators in recent investigations.",
        ["insider", "vetting"],
        {},
    ),
    (
        "claire.martin@ec-home.example",
        "policy",
        "deliverable",
        "CLEAR",
        False,
        "Draft outline of the Roadmap implementation report",
        "The outline follows the six actions of the Roadmap. Comments are welcome before the next technical meeting.",
        ["roadmap"],
        {"workplan_item": "Report on the implementation of the EU Ports Roadmap"},
    ),
    (
        # Shares a container with Belgian Customs' note: both police and customs see the hit.
        "sanne.jansen@politie-nl.example",
        "operational-cooperation",
        "incident_note",
        "AMBER",
        False,
        "Cocaine in a reefer re-exported from Antwerp",
        "A reefer transhipped in Antwerp and re-exported to Rotterdam held cocaine behind the cooling unit.",
        ["reefer", "transhipment"],
        {
            "incident": {
                "port_locode": "BEANR",
                "occurred_on": "2026-10-21",
                "modus_operandi": "concealment_in_cargo",
                "substance": "cocaine",
                "quantity_kg": 120,
                "container_numbers": ["CSQU3054383", "MSCU1234566"],
            }
        },
    ),
    (
        # Same vessel as the customs note; that note is law-enforcement-only, so the terminal is
        # never told of the hit while customs sees it, with a link to this GREEN note.
        "jan.devries@rct.example",
        "operational-cooperation",
        "incident_note",
        "GREEN",
        False,
        "Broken seals found on a vessel from Guayaquil",
        "Gate staff found three containers with replaced seals after discharge; customs were called at once.",
        ["seals"],
        {
            "incident": {
                "port_locode": "NLRTM",
                "occurred_on": "2026-11-03",
                "modus_operandi": "rip_on_rip_off",
                "substance": "cocaine",
                "quantity_kg": 35.5,
                "container_numbers": ["TGHU9988774"],
                "vessel_imo": "9074729",
            }
        },
    ),
    (
        # A third organisation reporting cocaine: the substance group reaches three reporting
        # organisations and is shown to everyone, while BEANR (two outside law enforcement) is not.
        "anna.peeters@portofantwerpbruges.example",
        "operational-cooperation",
        "incident_note",
        "GREEN",
        False,
        "Cocaine found during a routine scan of empties",
        "A scan of empty containers at the Europa Terminal showed bags behind a false wall.",
        ["empties", "scanning"],
        {
            "incident": {
                "port_locode": "BEANR",
                "occurred_on": "2026-11-12",
                "modus_operandi": "concealment_in_cargo",
                "substance": "cocaine",
                "quantity_kg": 64,
                "container_numbers": ["MAEU7654320"],
            }
        },
    ),
    (
        "lena.schmidt@hanseatic-line.example",
        "innovation",
        "best_practice",
        "GREEN",
        False,
        "Smart container seals on our Latin America services",
        "Electronic seals report every opening with time and position. False alarms fell below 1% "
        "after the first three months.",
        ["seals", "technology"],
        {},
    ),
]


def _load_content(created: dict[str, int]) -> None:
    import sqlalchemy as sa

    from app.clusters.attachments import attach_file
    from app.clusters.models import Cluster, Post
    from app.clusters.services import publish_post
    from app.clusters.validation import parse_post
    from app.extensions import db
    from app.workplan.models import ItemStatus, WorkplanItem
    from app.workplan.services import workplan_of

    for slug, title, due, status in WORKPLAN_ITEMS:
        if db.session.scalar(sa.select(WorkplanItem.id).where(WorkplanItem.title == title)) is None:
            cluster = db.session.scalar(sa.select(Cluster).where(Cluster.slug == slug))
            workplan = workplan_of(2026)
            db.session.add(
                WorkplanItem(
                    cluster_id=cluster.id,
                    workplan=workplan,
                    title=title,
                    due_date=date.fromisoformat(due),
                    status=ItemStatus(status),
                )
            )
            created["workplan items"] = created.get("workplan items", 0) + 1
    db.session.flush()
    for email, slug, type_, tlp, le_only, title, body, tags, extra in POSTS:
        if db.session.scalar(sa.select(Post.id).where(Post.title == title)) is not None:
            continue
        author = find_user_by_email(email)
        raw = {"type": type_, "cluster": slug, "title": title, "body": body, "tlp": tlp}
        raw.update({"law_enforcement_only": le_only, "tags": tags})
        if "incident" in extra:
            raw["incident"] = extra["incident"]
        if "workplan_item" in extra:
            raw["workplan_item_id"] = db.session.scalar(
                sa.select(WorkplanItem.id).where(WorkplanItem.title == extra["workplan_item"])
            )
        post = publish_post(author, parse_post(raw))
        created["posts"] = created.get("posts", 0) + 1
        for filename, content in extra.get("files", []):
            attach_file(author, post, filename, [content], len(content))
            created["attachments"] = created.get("attachments", 0) + 1


#: (e-mail, post title, comment): a conversation under a post, so the demo shows comments and
#: each commenter's own edit link.
COMMENTS = [
    (
        "anna.peeters@portofantwerpbruges.example",
        "Broken seals found on a vessel from Guayaquil",
        "Thank you. We saw the same seal type at the Europa Terminal last month; our security team will "
        "share its photos with customs.",
    ),
    (
        "marc.dubois@customs-be.example",
        "Broken seals found on a vessel from Guayaquil",
        "Received. Please keep the replaced seals for our officers.",
    ),
]


def _load_comments(created: dict[str, int]) -> None:
    import sqlalchemy as sa

    from app.clusters.models import Comment, Post
    from app.clusters.services import add_comment
    from app.extensions import db

    for email, title, body in COMMENTS:
        author = find_user_by_email(email)
        post = db.session.scalar(sa.select(Post).where(Post.title == title))
        if post is None or db.session.scalar(sa.select(Comment.id).where(Comment.body == body)) is not None:
            continue
        add_comment(author, post, body)
        created["comments"] = created.get("comments", 0) + 1


#: (e-mail, cluster, delivery mode): members who follow a cluster, so the demo has notifications.
SUBSCRIPTIONS = [
    ("anna.peeters@portofantwerpbruges.example", "operational-cooperation", "immediate"),
    ("marc.dubois@customs-be.example", "operational-cooperation", "daily"),
    ("piotr.nowak@europol.example", "infiltration-corruption", "immediate"),
]


def _load_subscriptions(created: dict[str, int]) -> None:
    import sqlalchemy as sa

    from app.clusters.models import Cluster
    from app.extensions import db
    from app.notifications.models import DeliveryMode, Subscription
    from app.notifications.services import set_subscription

    for email, slug, mode in SUBSCRIPTIONS:
        user = find_user_by_email(email)
        cluster = db.session.scalar(sa.select(Cluster).where(Cluster.slug == slug))
        assert user is not None and cluster is not None, "demo subscriptions name demo users and clusters"
        exists = db.session.scalar(
            sa.select(Subscription.id).where(Subscription.user_id == user.id, Subscription.cluster_id == cluster.id)
        )
        if exists is None:
            set_subscription(user, cluster, DeliveryMode(mode))
            created["subscriptions"] = created.get("subscriptions", 0) + 1


def load_demo() -> dict[str, int]:
    """Create whatever demo records are missing; returns how many of each were created."""
    created = {"organisations": 0, "users": 0, "memberships": 0}
    for spec in ORGS:
        if find_organisation(spec.name) is None:
            create_organisation(spec.name, spec.type, spec.country, [spec.domain])
            created["organisations"] += 1
    for spec in USERS:
        user = find_user_by_email(spec.email)
        if user is None:
            org = find_organisation(spec.org)
            assert org is not None
            user = create_user(
                spec.email,
                spec.name,
                org,
                role=spec.role,
                password=DEMO_PASSWORD,
                status=spec.status,
                is_focal_point=spec.focal_point,
            )
            created["users"] += 1
            for slug, role in spec.clusters:
                grant_membership(user, slug, role, actor=None)
                created["memberships"] += 1
    _load_subscriptions(created)
    _load_content(created)
    _load_comments(created)
    from app.meetings.demo import load_meetings_demo
    from app.workplan.demo import load_workplan_demo

    load_workplan_demo(created)
    # Meetings come after the workplan: the demo Senior Officials' meeting adopts it.
    load_meetings_demo(created)
    return created
