"""Who can see an item, and why: the panel on posts, files, meetings and meeting documents, and
the change a new marking would make to it.

Both come from ``app.policy.audience_of`` / ``proposed_audience``: the ``visible_*`` rule applied
to every account at once, never a second copy of it. The panel counts people per organisation
and per rule; it names people only to the item's own organisation (a RED item's named
recipients), and never anyone an organisation outside it could not otherwise learn.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from flask_babel import format_number, ngettext
from flask_babel import lazy_gettext as _l

from app.auth.models import User
from app.extensions import db
from app.i18n import collation_key, sorted_by_name
from app.markings import Marking
from app.policy import AUDIENCE_RULES, AudienceMember, audience_of, proposed_audience

RULE_LABELS = {
    "author": _l("Author"),
    "all_members": _l("Every member (TLP:CLEAR and TLP:GREEN)"),
    "author_org": _l("The author's organisation"),
    "cluster": _l("Member of the cluster"),
    "recipient_org": _l("Named recipient organisation"),
    "named_person": _l("Named person"),
}
assert set(RULE_LABELS) == set(AUDIENCE_RULES)


@dataclass
class OrganisationAudience:
    name: str
    law_enforcement: bool
    #: Distinct people of this organisation the item admits.
    people: int = 0
    #: (rule, its label, people admitted by it), in ``AUDIENCE_RULES`` order; a person may count under several.
    rules: list[tuple[str, str, int]] = field(default_factory=list)
    #: Names of the named people here; only filled for viewers of the item's own organisation.
    named: list[str] = field(default_factory=list)


@dataclass
class AudiencePanel:
    organisations: list[OrganisationAudience]
    people: int
    law_enforcement_only: bool
    #: Whether this viewer is shown named people's names (the item's own organisation).
    names_shown: bool

    @property
    def organisation_count(self) -> int:
        return len(self.organisations)


def _panel(members: list[AudienceMember], viewer: Any, author_org_id: int, law_enforcement_only: bool) -> AudiencePanel:
    names_shown = viewer.organisation_id == author_org_id
    named_ids = [m.user_id for m in members if "named_person" in m.rules]
    names = (
        {row.id: row.name for row in db.session.execute(sa.select(User.id, User.name).where(User.id.in_(named_ids)))}
        if names_shown and named_ids
        else {}
    )
    by_org: dict[int, list[AudienceMember]] = {}
    for member in members:
        by_org.setdefault(member.organisation_id, []).append(member)
    rows = []
    for org_id, people in by_org.items():
        counts = Counter(rule for person in people for rule in person.rules)
        rows.append(
            (
                org_id != author_org_id,
                OrganisationAudience(
                    name=people[0].organisation_name,
                    law_enforcement=people[0].law_enforcement_organisation,
                    people=len(people),
                    rules=[(r, str(RULE_LABELS[r]), counts[r]) for r in AUDIENCE_RULES if counts[r]],
                    named=sorted_by_name((names[p.user_id] for p in people if p.user_id in names), str),
                ),
            )
        )
    # The author's organisation first, then by name in the reader's alphabet.
    rows.sort(key=lambda row: (row[0], collation_key(row[1].name)))
    return AudiencePanel([row for _other, row in rows], len(members), law_enforcement_only, names_shown)


def audience_panel(viewer: Any, item: Any) -> AudiencePanel:
    """The panel for ``item`` (a post, attachment, meeting or meeting document) as ``viewer``,
    who may see it, is shown it."""
    marked = item.post if hasattr(item, "post") and not hasattr(item, "tlp") else item
    return _panel(audience_of(item), viewer, marked.author_org_id, bool(marked.law_enforcement_only))


@dataclass(frozen=True)
class AudienceChange:
    """How a proposed marking would change an item's audience."""

    organisations_added: int
    organisations_removed: int
    people_added: int
    people_removed: int

    @property
    def unchanged(self) -> bool:
        return not (self.organisations_added or self.organisations_removed or self.people_added or self.people_removed)

    def sentence(self, noun: str = "post") -> str:
        """One plain sentence for the edit form (``noun``: post, meeting, file or document)."""
        if self.unchanged:
            return str(_UNCHANGED[noun]) if noun in _UNCHANGED else str(_UNCHANGED_ANY % {"noun": noun})
        added = self.organisations_added or self.people_added
        removed = self.organisations_removed or self.people_removed
        oa, pa, orr, pr = self.organisations_added, self.people_added, self.organisations_removed, self.people_removed
        counts = {
            "organisations_added": ngettext(
                "%(count)s more organisation", "%(count)s more organisations", oa, count=format_number(oa)
            ),
            "people_added": ngettext("%(count)s more person", "%(count)s more people", pa, count=format_number(pa)),
            "organisations_removed": ngettext(
                "%(count)s organisation", "%(count)s organisations", orr, count=format_number(orr)
            ),
            "people_removed": ngettext("%(count)s person", "%(count)s people", pr, count=format_number(pr)),
        }
        templates = _BOTH if added and removed else (_ADDED if added else _REMOVED)
        if noun in templates:
            return str(templates[noun]) % counts
        fallback = _BOTH_ANY if added and removed else (_ADDED_ANY if added else _REMOVED_ANY)
        return str(fallback) % {**counts, "noun": noun}


# One full sentence per kind of item, so every language can word (and inflect) it whole.
_UNCHANGED = {
    "post": _l("This change does not change who can see the post."),
    "meeting": _l("This change does not change who can see the meeting."),
    "file": _l("This change does not change who can see the file."),
    "document": _l("This change does not change who can see the document."),
}
_ADDED = {
    "post": _l("This makes the post visible to %(organisations_added)s (%(people_added)s)."),
    "meeting": _l("This makes the meeting visible to %(organisations_added)s (%(people_added)s)."),
    "file": _l("This makes the file visible to %(organisations_added)s (%(people_added)s)."),
    "document": _l("This makes the document visible to %(organisations_added)s (%(people_added)s)."),
}
_REMOVED = {
    "post": _l("This makes the post hidden from %(organisations_removed)s (%(people_removed)s)."),
    "meeting": _l("This makes the meeting hidden from %(organisations_removed)s (%(people_removed)s)."),
    "file": _l("This makes the file hidden from %(organisations_removed)s (%(people_removed)s)."),
    "document": _l("This makes the document hidden from %(organisations_removed)s (%(people_removed)s)."),
}
_BOTH = {
    "post": _l(
        "This makes the post visible to %(organisations_added)s (%(people_added)s) and hidden from "
        "%(organisations_removed)s (%(people_removed)s)."
    ),
    "meeting": _l(
        "This makes the meeting visible to %(organisations_added)s (%(people_added)s) and hidden from "
        "%(organisations_removed)s (%(people_removed)s)."
    ),
    "file": _l(
        "This makes the file visible to %(organisations_added)s (%(people_added)s) and hidden from "
        "%(organisations_removed)s (%(people_removed)s)."
    ),
    "document": _l(
        "This makes the document visible to %(organisations_added)s (%(people_added)s) and hidden from "
        "%(organisations_removed)s (%(people_removed)s)."
    ),
}
_UNCHANGED_ANY = _l("This change does not change who can see the %(noun)s.")
_ADDED_ANY = _l("This makes the %(noun)s visible to %(organisations_added)s (%(people_added)s).")
_REMOVED_ANY = _l("This makes the %(noun)s hidden from %(organisations_removed)s (%(people_removed)s).")
_BOTH_ANY = _l(
    "This makes the %(noun)s visible to %(organisations_added)s (%(people_added)s) and hidden from "
    "%(organisations_removed)s (%(people_removed)s)."
)


def audience_change(item: Any, marking: Marking, cluster_id: int | None) -> AudienceChange:
    """What saving ``marking`` on ``item`` in the cluster ``cluster_id`` (None: a meeting without
    one) would do to its audience; an organisation counts as added or removed when all its people are."""
    now = {m.user_id: m.organisation_id for m in audience_of(item)}
    then = {m.user_id: m.organisation_id for m in proposed_audience(item, marking, cluster_id)}
    orgs_now, orgs_then = set(now.values()), set(then.values())
    return AudienceChange(
        organisations_added=len(orgs_then - orgs_now),
        organisations_removed=len(orgs_now - orgs_then),
        people_added=len(then.keys() - now.keys()),
        people_removed=len(now.keys() - then.keys()),
    )
