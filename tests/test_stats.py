"""Seizure statistics: what counts for whom, small groups withheld outside law enforcement, and
the page, the CSV and the API telling the same numbers."""

from __future__ import annotations

import csv
import io
import re
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa

from app.audit.models import AuditEvent
from app.extensions import db
from app.stats.queries import seizure_statistics
from app.stats.validation import GroupBy, SeizureQuery
from tests.test_api_openapi import Conformance
from tests.test_crossmatch import author, bearer, note


@pytest.fixture(autouse=True)
def in_request(app):  # type: ignore[no-untyped-def]
    with app.test_request_context():
        yield


@pytest.fixture
def world(make):  # type: ignore[no-untyped-def]
    """Three port authorities report at Antwerp (BEANR), two of them at Rotterdam (NLRTM); the
    third also files a RED note at Antwerp, and the police a law-enforcement-only one there."""
    one, two, three = (author(make, org_type="port_authority") for _ in range(3))
    police = author(make)
    note(one, port="BEANR", occurred_on="2025-01-15", kg=10)
    note(two, port="BEANR", occurred_on="2025-04-10", kg=20, modus="container_cloning")
    note(three, port="BEANR", occurred_on="2025-05-20", kg=30, substance="cannabis")
    note(one, port="NLRTM", occurred_on="2025-02-01", kg=5)
    note(two, port="NLRTM", occurred_on="2025-08-01", kg=7, substance="heroin")
    note(three, port="BEANR", occurred_on="2025-01-20", kg=1000, tlp="RED", title="RED note")
    note(police, port="BEANR", occurred_on="2025-03-03", kg=500, le_only=True, modus="drone")
    return {
        "outsider": make.user(org_type="port_authority"),
        "customs": make.user(org_type="customs"),
        "red_author": three,
    }


@pytest.fixture
def document(client) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    return client.get("/api/v1/openapi.json").get_json()


def figures(user, **query) -> tuple[list[tuple[str, int, Decimal, int]], int]:  # type: ignore[no-untyped-def]
    stats = seizure_statistics(user, SeizureQuery(**query))
    return [(g.key, g.notes, g.quantity_kg, g.organisations) for g in stats.groups], stats.withheld


def test_two_organisations_are_withheld_outside_law_enforcement_and_red_or_le_only_never_counted(app, world):
    # Outside law enforcement: Rotterdam has 2 reporting organisations, withheld; the RED and
    # the law-enforcement-only notes are not counted.
    assert figures(world["outsider"]) == ([("BEANR", 3, Decimal(60), 3)], 1)
    # Law enforcement sees the 2-organisation group and the law-enforcement-only note, not RED.
    assert figures(world["customs"]) == ([("BEANR", 4, Decimal(560), 4), ("NLRTM", 2, Decimal(12), 2)], 0)
    # The RED note counts for its own author, who may see it.
    assert figures(world["red_author"]) == ([("BEANR", 4, Decimal(1060), 3)], 1)

    app.config["STATS_SUPPRESS_FOR_LAW_ENFORCEMENT"] = True
    assert figures(world["customs"]) == ([("BEANR", 4, Decimal(560), 4)], 1)
    app.config["STATS_MIN_ORGANISATIONS"] = 2
    assert figures(world["outsider"]) == ([("BEANR", 3, Decimal(60), 3), ("NLRTM", 2, Decimal(12), 2)], 0)


def test_each_grouping_and_the_filters(world):
    customs = world["customs"]
    assert figures(customs, group_by=GroupBy.SUBSTANCE)[0] == [
        ("cocaine", 4, Decimal(535), 3),
        ("cannabis", 1, Decimal(30), 1),
        ("heroin", 1, Decimal(7), 1),
    ]
    assert figures(customs, group_by=GroupBy.QUARTER)[0] == [
        ("2025-Q1", 3, Decimal(515), 2),
        ("2025-Q2", 2, Decimal(50), 2),
        ("2025-Q3", 1, Decimal(7), 1),
    ]
    assert figures(customs, group_by=GroupBy.MODUS_OPERANDI)[0] == [
        ("drone", 1, Decimal(500), 1),
        ("rip_on_rip_off", 4, Decimal(52), 3),
        ("container_cloning", 1, Decimal(20), 1),
    ]
    from datetime import date

    from app.clusters.models import Substance

    assert figures(customs, start=date(2025, 4, 1), substance=Substance.COCAINE)[0] == [("BEANR", 1, Decimal(20), 1)]
    assert figures(customs, end=date(2025, 1, 31))[0] == [("BEANR", 1, Decimal(10), 1)]


def _table(page: str) -> list[list[str]]:
    table = page.split('class="ecl-table', 1)[1].split("</table>", 1)[0]
    rows = re.findall(r'<tr class="ecl-table__row">(.*?)</tr>', table, re.S)
    return [[cell.strip() for cell in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, re.S)] for row in rows]


def test_page_chart_table_and_csv_agree_and_withhold_the_same(world, new_client):
    client = new_client(world["outsider"])
    page = client.get("/stats/seizures?group_by=port")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert 'href="/stats/seizures"' in html  # the menu entry
    svg = html.split('class="pax-bars__svg"', 1)[1].split("</svg>", 1)[0]
    assert 'role="img"' in svg and "<title" in svg and "<desc" in svg and "BEANR" in svg
    assert "<script" not in svg
    assert "1 group withheld (fewer than 3 reporting organisations)" in html
    assert "NLRTM" not in html and "1060" not in html
    table = _table(html)
    assert table == [["Port", "Incident notes", "Quantity (kg)", "Reporting organisations"], ["BEANR", "3", "60", "3"]]

    exported = client.get("/stats/seizures.csv?group_by=port")
    assert exported.status_code == 200 and exported.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(exported.get_data(as_text=True).lstrip("\ufeff"))))
    assert rows == table
    db.session.commit()
    event = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "stats.export"))
    assert event is not None and event.actor_id == world["outsider"].id
    assert event.details["group_by"] == "port" and event.details["withheld"] == 1

    law = new_client(world["customs"]).get("/stats/seizures.csv?group_by=quarter&substance=cocaine")
    assert list(csv.reader(io.StringIO(law.get_data(as_text=True).lstrip("\ufeff"))))[1:] == [
        ["2025-Q1", "3", "515", "2"],
        ["2025-Q2", "1", "20", "1"],
    ]


def test_api_answers_as_documented(world, client, document):
    check = Conformance(document)
    outsider = check.check(client.get("/api/v1/stats/seizures", headers=bearer(world["outsider"])), "/stats/seizures")
    assert outsider.get_json()["items"] == [
        {"group": "BEANR", "label": "BEANR", "notes": 3, "quantity_kg": 60.0, "organisations": 3}
    ]
    assert outsider.get_json()["withheld_groups"] == 1 and outsider.get_json()["min_organisations"] == 3
    law = check.check(
        client.get("/api/v1/stats/seizures?group_by=substance&to=2025-06-30", headers=bearer(world["customs"])),
        "/stats/seizures",
    ).get_json()
    assert [(i["group"], i["notes"]) for i in law["items"]] == [("cocaine", 4), ("cannabis", 1)]
    assert law["withheld_groups"] == 0 and law["min_organisations"] is None
    check.check(client.get("/api/v1/stats/seizures"), "/stats/seizures")
    bad = check.check(
        client.get("/api/v1/stats/seizures?group_by=ship", headers=bearer(world["outsider"])), "/stats/seizures"
    )
    assert bad.status_code == 422 and set(bad.get_json()["error"]["fields"]) == {"group_by"}
    assert {s for _p, _m, s in check.seen} == {"200", "401", "422"}


HOSTILE = [
    ({"group_by": "ship"}, {"group_by"}),
    ({"group_by": "port\x00"}, {"group_by"}),
    ({"from": "2025-13-45"}, {"from"}),
    ({"from": "2025-02-30", "to": "yesterday"}, {"from", "to"}),
    ({"from": "2025-06-01", "to": "2025-01-01"}, {"to"}),
    ({"to": "0001-01-01"}, {"to"}),
    ({"substance": "' OR 1=1 --"}, {"substance"}),
    ({"substance": "x" * 5000, "from": "2025-1-1"}, {"substance", "from"}),
]


def test_hostile_parameters_are_refused_with_field_errors_never_a_500(world, client, new_client):
    page_client = new_client(world["outsider"])
    token = bearer(world["outsider"])
    for params, fields in HOSTILE:
        api = client.get("/api/v1/stats/seizures", query_string=params, headers=token)
        assert api.status_code == 422 and set(api.get_json()["error"]["fields"]) == fields, params
        for path in ("/stats/seizures", "/stats/seizures.csv"):
            page = page_client.get(path, query_string=params)
            assert page.status_code == 422, (path, params)
            html = page.get_data(as_text=True)
            assert "The statistics cannot be shown" in html and "ecl-feedback-message" in html
            assert "BEANR" not in html
    kept = page_client.get("/stats/seizures", query_string={"group_by": "quarter", "from": "2025-13-45"})
    assert 'value="2025-13-45"' in kept.get_data(as_text=True)
