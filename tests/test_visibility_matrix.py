"""Who sees what: every TLP marking x law-enforcement flag x viewer relation x read path.

The expected answer comes from the README's access table (Sharing), written out once in ``expected``;
the read paths are every way a member can list, count, search or open a post. Zero leaks
means every cell agrees. Each read path is one test over one world, asked as every relation.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

import pytest

from app.clusters.validation import parse_post
from app.extensions import db
from app.markings import Tlp

TLPS = list(Tlp)
LE_FLAGS = [False, True]
RELATIONS = [
    "author",
    "same_organisation",
    "cluster_member",
    "other_cluster",
    "recipient_organisation",
    "recipient_user",
    "law_enforcement_outsider",
    "law_enforcement_cluster_member",
    "curator",
    "admin",
    "pending",
    "suspended",
]
CLUSTER = "operational-cooperation"
OTHER_CLUSTER = "innovation"
WORD = "quayside"


def expected(tlp: Tlp, le_only: bool, relation: str) -> bool:
    """the README's access table, read literally."""
    if relation in ("pending", "suspended"):
        return False
    if relation == "author":
        return True
    if le_only and not relation.startswith("law_enforcement"):
        return False  # everyone else in this matrix belongs to a non-law-enforcement organisation
    audience = {
        Tlp.CLEAR: True,
        Tlp.GREEN: True,
        Tlp.AMBER: relation
        in ("same_organisation", "cluster_member", "law_enforcement_cluster_member", "recipient_organisation"),
        Tlp.AMBER_STRICT: relation in ("same_organisation", "recipient_organisation"),
        Tlp.RED: relation == "recipient_user",
    }
    return audience[tlp]


class World:
    """Ten posts, one per marking and flag, and a viewer for every relation."""

    def __init__(self, make) -> None:  # type: ignore[no-untyped-def]
        from app.clusters.services import publish_post

        author_org = make.org("terminal_operator")
        recipient_org = make.org("shipping_line")
        self.author = make.user(org=author_org, clusters={CLUSTER: "contributor"})
        self.viewers = {
            "author": self.author,
            "same_organisation": make.user(org=author_org),
            "cluster_member": make.user(clusters={CLUSTER: "reader"}),
            "other_cluster": make.user(clusters={OTHER_CLUSTER: "contributor"}),
            "recipient_organisation": make.user(org=recipient_org),
            "recipient_user": make.user(),
            "law_enforcement_outsider": make.user(org_type="police"),
            "law_enforcement_cluster_member": make.user(org_type="customs", clusters={CLUSTER: "reader"}),
            "curator": make.user(role="curator", org_type="commission"),
            "admin": make.user(role="admin", org_type="commission"),
            "pending": make.user(status="pending"),
            "suspended": make.user(status="suspended"),
        }
        self.make = make
        self.posts = {}
        for tlp, le_only in itertools.product(TLPS, LE_FLAGS):
            post = publish_post(
                self.author,
                parse_post(
                    {
                        "type": "best_practice",
                        "cluster": CLUSTER,
                        "title": f"{WORD} checks {tlp.value} {'le' if le_only else 'all'}",
                        "body": f"How the {WORD} team works.",
                        "tlp": tlp.value,
                        "law_enforcement_only": le_only,
                        "recipient_orgs": [recipient_org.name] if tlp in (Tlp.AMBER, Tlp.AMBER_STRICT) else [],
                        "recipient_users": [self.viewers["recipient_user"].email] if tlp is Tlp.RED else [],
                        "tags": ["matrix"],
                    }
                ),
            )
            self.posts[(tlp, le_only)] = post
        db.session.commit()


# --- read paths: each answers "which of these post ids does the viewer get?" --------------------


def path_feed(world: World, viewer: Any) -> set[int]:
    from app.clusters.queries import PostFilter, feed

    return {p.id for p in feed(viewer, PostFilter(), per_page=100).items}


def path_cluster_feed(world: World, viewer: Any) -> set[int]:
    import sqlalchemy as sa

    from app.clusters.models import Cluster
    from app.clusters.queries import PostFilter, feed

    cluster_id = db.session.scalar(sa.select(Cluster.id).where(Cluster.slug == CLUSTER))
    return {p.id for p in feed(viewer, PostFilter(cluster_id=cluster_id), per_page=100).items}


def path_tag_feed(world: World, viewer: Any) -> set[int]:
    from app.clusters.queries import PostFilter, feed

    return {p.id for p in feed(viewer, PostFilter(tag="matrix"), per_page=100).items}


def path_search(world: World, viewer: Any) -> set[int]:
    from app.clusters.search import search

    return {hit.post.id for hit in search(viewer, WORD, per_page=100).items}


def path_count(world: World, viewer: Any) -> set[int]:
    """Counts must agree: the count of each single post is 1 or 0."""
    from app.clusters.queries import PostFilter, count_visible

    return {pid for pid in (p.id for p in world.posts.values()) if count_visible(viewer, PostFilter(ids=[pid]))[0] == 1}


def path_open(world: World, viewer: Any) -> set[int]:
    from werkzeug.exceptions import NotFound

    from app.policy import post_or_404

    seen = set()
    for post in world.posts.values():
        try:
            post_or_404(viewer, post.id)
        except NotFound:
            continue
        seen.add(post.id)
    return seen


def path_comments(world: World, viewer: Any) -> set[int]:
    """A comment on each post is visible exactly when its post is."""
    import sqlalchemy as sa

    from app.clusters.models import Comment
    from app.clusters.services import add_comment
    from app.policy import visible_comments

    if not db.session.scalar(sa.select(sa.func.count()).select_from(Comment)):
        for post in world.posts.values():
            add_comment(world.author, post, f"comment on {post.id}")
        db.session.commit()
    rows = db.session.scalars(sa.select(Comment.post_id).where(visible_comments(viewer)))
    return set(rows)


READ_PATHS: dict[str, Callable[[World, Any], set[int]]] = {
    "feed": path_feed,
    "cluster_feed": path_cluster_feed,
    "tag_feed": path_tag_feed,
    "search": path_search,
    "count": path_count,
    "open": path_open,
    "comments": path_comments,
}


# --- the same question through the pages and the API, as the viewer's browser and token ask it ----


def _signed_in_client(world: World, viewer: Any):  # type: ignore[no-untyped-def]
    from flask import current_app

    from tests.conftest import sign_in

    client = current_app.test_client()
    if viewer.status.value == "active":
        sign_in(client, world.make, viewer)
    return client


def _token(viewer: Any) -> dict[str, str]:
    from app.auth.tokens import create_token

    _, secret = create_token(viewer, "matrix", "read", 1)
    db.session.commit()
    return {"Authorization": f"Bearer {secret}"}


def path_page(world: World, viewer: Any) -> set[int]:
    client = _signed_in_client(world, viewer)
    return {p.id for p in world.posts.values() if client.get(f"/posts/{p.id}").status_code == 200}


def path_feed_page(world: World, viewer: Any) -> set[int]:
    client = _signed_in_client(world, viewer)
    html = client.get(f"/clusters/{CLUSTER}").get_data(as_text=True)
    return {p.id for p in world.posts.values() if f'href="/posts/{p.id}"' in html}


def path_search_page(world: World, viewer: Any) -> set[int]:
    client = _signed_in_client(world, viewer)
    html = client.get("/search", query_string={"q": WORD}).get_data(as_text=True)
    return {p.id for p in world.posts.values() if f'href="/posts/{p.id}"' in html}


def path_api_list(world: World, viewer: Any) -> set[int]:
    from flask import current_app

    response = current_app.test_client().get("/api/v1/posts?per_page=100", headers=_token(viewer))
    return {item["id"] for item in response.get_json()["items"]} if response.status_code == 200 else set()


def path_api_get(world: World, viewer: Any) -> set[int]:
    from flask import current_app

    client, headers = current_app.test_client(), _token(viewer)
    return {
        p.id for p in world.posts.values() if client.get(f"/api/v1/posts/{p.id}", headers=headers).status_code == 200
    }


def path_api_search(world: World, viewer: Any) -> set[int]:
    from flask import current_app

    response = current_app.test_client().get(f"/api/v1/search?q={WORD}&per_page=100", headers=_token(viewer))
    return (
        {item["post"]["id"] if "post" in item else item["id"] for item in response.get_json()["items"]}
        if response.status_code == 200
        else set()
    )


def _attachments(world: World) -> dict[int, int]:
    """One file on each post (made on first use): attachment id -> post id."""
    from app.clusters.attachments import attach_file

    if not hasattr(world, "attachments"):
        world.attachments = {}  # type: ignore[attr-defined]
        for post in world.posts.values():
            attachment, _meta = attach_file(world.author, post, "roster.txt", [f"roster {post.id}".encode()], 10**6)
            world.attachments[attachment.id] = post.id  # type: ignore[attr-defined]
        db.session.commit()
    return world.attachments  # type: ignore[attr-defined,no-any-return]


def path_attachment_open(world: World, viewer: Any) -> set[int]:
    from werkzeug.exceptions import NotFound

    from app.policy import attachment_or_404

    seen = set()
    for attachment_id, post_id in _attachments(world).items():
        try:
            attachment_or_404(viewer, attachment_id)
        except NotFound:
            continue
        seen.add(post_id)
    return seen


def path_attachment_download(world: World, viewer: Any) -> set[int]:
    files = _attachments(world)
    client = _signed_in_client(world, viewer)
    return {
        post_id
        for attachment_id, post_id in files.items()
        if client.get(f"/attachments/{attachment_id}").data == f"roster {post_id}".encode()
    }


def path_api_attachment_download(world: World, viewer: Any) -> set[int]:
    from flask import current_app

    files = _attachments(world)
    client, headers = current_app.test_client(), _token(viewer)
    return {
        post_id
        for attachment_id, post_id in files.items()
        if client.get(f"/api/v1/attachments/{attachment_id}", headers=headers).status_code == 200
    }


# --- STIX and TAXII: every collection the token sees, page by page, and each report by id ----------

_TAXII_ROOT = "/taxii2/pax/collections/"


def _taxii_collections(client: Any, headers: dict[str, str]) -> list[str]:
    response = client.get(_TAXII_ROOT, headers=headers)
    return [c["id"] for c in response.get_json()["collections"]] if response.status_code == 200 else []


def _report_post_ids(objects: list[dict[str, Any]]) -> set[int]:
    return {
        int(o["external_references"][0]["external_id"].removeprefix("post-")) for o in objects if o["type"] == "report"
    }


def path_taxii_objects(world: World, viewer: Any) -> set[int]:
    """All objects of every collection, in pages of 3 (so pages end inside posts)."""
    from flask import current_app

    client, headers = current_app.test_client(), _token(viewer)
    seen: set[int] = set()
    for collection in _taxii_collections(client, headers):
        query: dict[str, str] = {"limit": "3"}
        while True:
            body = client.get(f"{_TAXII_ROOT}{collection}/objects/", headers=headers, query_string=query).get_json()
            seen |= _report_post_ids(body["objects"])
            if not body["more"]:
                break
            query["next"] = body["next"]
    return seen


def path_taxii_manifest(world: World, viewer: Any) -> set[int]:
    from flask import current_app

    from app.taxii.ids import post_object_id

    client, headers = current_app.test_client(), _token(viewer)
    listed: set[str] = set()
    for collection in _taxii_collections(client, headers):
        body = client.get(f"{_TAXII_ROOT}{collection}/manifest/", headers=headers).get_json()
        listed |= {entry["id"] for entry in body["objects"]}
    return {p.id for p in world.posts.values() if post_object_id(p.id, "report") in listed}


def path_taxii_get_object(world: World, viewer: Any) -> set[int]:
    """Each post's report and note asked for by id in every collection (the ids are no secret)."""
    from flask import current_app

    from app.taxii.ids import post_object_id

    client, headers = current_app.test_client(), _token(viewer)
    collections = _taxii_collections(client, headers) or ["00000000-0000-5000-8000-000000000000"]
    seen = set()
    for post in world.posts.values():
        for role in ("report", "note"):
            object_id = post_object_id(post.id, role)
            for collection in collections:
                url = f"{_TAXII_ROOT}{collection}/objects/{object_id}/"
                if client.get(url, headers=headers).status_code == 200:
                    seen.add(post.id)
                if client.get(url + "versions/", headers=headers).status_code == 200:
                    seen.add(post.id)
    return seen


def path_stix_download(world: World, viewer: Any) -> set[int]:
    """The post page's STIX download, and the cluster page's list download."""
    import json

    client = _signed_in_client(world, viewer)
    seen = {p.id for p in world.posts.values() if client.get(f"/posts/{p.id}/stix.json").status_code == 200}
    listed = client.get(f"/clusters/{CLUSTER}/stix.json")
    if listed.status_code == 200:
        seen |= _report_post_ids(json.loads(listed.get_data(as_text=True))["objects"])
    return seen


READ_PATHS.update(
    {
        "taxii_objects": path_taxii_objects,
        "taxii_manifest": path_taxii_manifest,
        "taxii_get_object": path_taxii_get_object,
        "stix_download": path_stix_download,
    }
)


READ_PATHS.update(
    {
        "attachment_open": path_attachment_open,
        "attachment_download": path_attachment_download,
        "api_attachment_download": path_api_attachment_download,
        "page": path_page,
        "feed_page": path_feed_page,
        "search_page": path_search_page,
        "api_list": path_api_list,
        "api_get": path_api_get,
        "api_search": path_api_search,
    }
)


@pytest.mark.parametrize("path", list(READ_PATHS))
def test_visibility(path, make):
    """Every relation through one read path. The world holds a viewer of every relation, so one
    world per path serves them all; each (relation, path) pair is checked as before."""
    world = World(make)
    wrong = []
    for relation in RELATIONS:
        viewer = world.viewers[relation]
        if relation in ("pending", "suspended"):
            db.session.refresh(viewer)
        got = READ_PATHS[path](world, viewer)
        leaks, misses = [], []
        for (tlp, le_only), post in world.posts.items():
            should = expected(tlp, le_only, relation)
            if post.id in got and not should:
                leaks.append(f"{tlp.label}{' LE-only' if le_only else ''}")
            if post.id not in got and should:
                misses.append(f"{tlp.label}{' LE-only' if le_only else ''}")
        if leaks:
            wrong.append(f"{relation} sees through {path}: {leaks}")
        if misses:
            wrong.append(f"{relation} misses through {path}: {misses}")
    assert not wrong, wrong


# --- drafts: their author's only, whatever the post they belong to ----------------------------------

DRAFT_PATHS = ["drafts_page", "draft_continued", "draft_deleted", "search_page", "api_search", "post_page"]


def _draft_texts(world: World) -> dict[int, str]:
    """The author's draft comment on each post of the world, and a draft of a new post."""
    from app.drafts.services import save_draft

    texts: dict[int, str] = {}
    for (tlp, le_only), post in world.posts.items():
        text = f"unsentword{tlp.name.lower()}{'le' if le_only else 'all'}"
        draft = save_draft(world.author, "clusters.comment", f"/posts/{post.id}", [("body", text)])
        texts[draft.id] = text
    draft = save_draft(
        world.author, "clusters.new_post", f"/clusters/{CLUSTER}/posts/new", [("title", "unsentwordnew")]
    )
    texts[draft.id] = "unsentwordnew"
    db.session.commit()
    return texts


def _seen_drafts(path: str, world: World, viewer: Any, texts: dict[int, str]) -> set[int]:
    from app.drafts.models import Draft
    from tests.conftest import csrf_token_from

    client = _signed_in_client(world, viewer)
    pages: list[str] = []
    if path == "drafts_page":
        pages.append(client.get("/drafts/").get_data(as_text=True))
    elif path == "draft_continued":
        for draft_id in texts:
            page = db.session.get(Draft, draft_id).page
            pages.append(client.get(f"{page}?draft={draft_id}").get_data(as_text=True))
    elif path == "draft_deleted":
        token_page = client.get("/account/").get_data(as_text=True)
        token = csrf_token_from(token_page) if "csrf_token" in token_page else ""
        return {
            draft_id
            for draft_id in texts
            if client.post(f"/drafts/{draft_id}/delete", data={"csrf_token": token}).status_code == 302
        }
    elif path == "search_page":
        # The page repeats what was searched for; a draft found would be a result, a post link.
        return {
            draft_id
            for draft_id, text in texts.items()
            if 'href="/posts/' in client.get("/search", query_string={"q": text}).get_data(as_text=True)
        }
    elif path == "api_search":
        from flask import current_app

        headers = _token(viewer)
        api = current_app.test_client()
        return {
            draft_id
            for draft_id, text in texts.items()
            if (api.get("/api/v1/search", query_string={"q": text}, headers=headers).get_json() or {}).get("items")
        }
    elif path == "post_page":
        pages += [client.get(f"/posts/{p.id}").get_data(as_text=True) for p in world.posts.values()]
    return {draft_id for draft_id, text in texts.items() if any(text in page for page in pages)}


@pytest.mark.parametrize("path", DRAFT_PATHS)
def test_drafts_are_seen_by_their_author_only(path, make):
    """A draft is its author's alone on every read path, whatever the marking of the post it
    belongs to; searching never finds one (not even for its author: it is not published), and a
    post page shows a draft only when its author asks to continue it."""
    world = World(make)
    texts = _draft_texts(world)
    wrong = []
    for relation in RELATIONS:
        viewer = world.viewers[relation]
        if relation in ("pending", "suspended"):
            db.session.refresh(viewer)
        seen = _seen_drafts(path, world, viewer, texts)
        should = set(texts) if relation == "author" and path in ("drafts_page", "draft_continued") else set()
        if relation == "author" and path == "draft_deleted":
            should = set(texts)
        if seen != should:
            wrong.append(f"{relation} through {path}: sees {sorted(seen)}, should see {sorted(should)}")
    assert not wrong, wrong
