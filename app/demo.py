"""Demo organisations, users and memberships for ``make run`` and the browser tests.

Loading is idempotent: each record is looked up by its natural key first, so a second run
changes nothing. Every demo account shares ``DEMO_PASSWORD`` (README.md lists them).
"""

from __future__ import annotations

from dataclasses import dataclass

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
                grant_membership(user, slug, role)
                created["memberships"] += 1
    return created
