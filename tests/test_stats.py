"""Seizure statistics: what counts for whom, small groups withheld outside law enforcement, and
the page, the CSV and the API telling the same numbers; fixed reporting periods, secondary
suppression against differencing, and the daily bound on filter combinations."""

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
from app.stats.validation import GroupBy, Period, SeizureQuery, parse_period, parse_seizure_query
from app.validation import ValidationError
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
    from app.clusters.models import Substance

    # Fixed periods narrow as the old date ranges did: a quarter, a year, with a substance.
    cocaine_q2 = figures(customs, period=Period(2025, 2), substance=Substance.COCAINE)[0]
    assert cocaine_q2 == [("BEANR", 1, Decimal(20), 1)]
    assert figures(customs, period=Period(2025, 1))[0] == [("BEANR", 2, Decimal(510), 2), ("NLRTM", 1, Decimal(5), 1)]
    assert figures(customs, period=Period(2025, 4))[0] == []
    assert figures(customs, period=Period(2025))[0] == figures(customs)[0]
    assert figures(customs, group_by=GroupBy.QUARTER, period=Period(2025, 3))[0] == [("2025-Q3", 1, Decimal(7), 1)]
    assert figures(customs, period=Period(2024))[0] == []


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
    assert event.details["combination"] == "group_by=port" and event.details["withheld"] == 1

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
        client.get("/api/v1/stats/seizures?group_by=substance&period=2025-Q2", headers=bearer(world["customs"])),
        "/stats/seizures",
    ).get_json()
    assert [(i["group"], i["notes"]) for i in law["items"]] == [("cannabis", 1), ("cocaine", 1)]
    assert (law["period"], law["from"], law["to"]) == ("2025-Q2", "2025-04-01", "2025-06-30")
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
    ({"period": "2025-Q5"}, {"period"}),
    ({"period": "2025-13-45"}, {"period"}),
    ({"period": "0001"}, {"period"}),
    ({"period": "2025-Q1\x00", "group_by": "ship"}, {"period", "group_by"}),
    ({"from": "2025-01-01"}, {"from"}),
    ({"from": "2025-01-01", "to": "2025-06-30"}, {"from", "to"}),
    ({"to": "", "period": "2025"}, {"to"}),
    ({"substance": "' OR 1=1 --"}, {"substance"}),
    ({"substance": "x" * 5000, "period": "2025-1"}, {"substance", "period"}),
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
    kept = page_client.get("/stats/seizures", query_string={"group_by": "quarter", "period": "2025-13-45"})
    assert 'value="2025-13-45"' in kept.get_data(as_text=True)


# --- fixed periods ---------------------------------------------------------------------------------


def test_quarters_and_years_parse_and_are_validated():
    assert parse_period("2026-Q3") == Period(2026, 3) and parse_period(" 2026-q3 ") == Period(2026, 3)
    assert parse_period("2026") == Period(2026)
    q3 = Period(2026, 3)
    assert (q3.key, q3.first_day.isoformat(), q3.last_day.isoformat()) == ("2026-Q3", "2026-07-01", "2026-09-30")
    assert (Period(2024, 1).last_day.isoformat(), Period(2026, 4).last_day.isoformat()) == ("2024-03-31", "2026-12-31")
    assert list(Period(2026).quarters()) == [Period(2026, q) for q in (1, 2, 3, 4)]
    from datetime import date

    assert Period.of(date(2026, 9, 30)) == q3 and Period.of(date(2026, 10, 1)) == Period(2026, 4)
    for bad in ("2026-Q0", "2026-Q5", "2026-3", "26-Q1", "2026-07-01", "Q3 2026", "1899", "2101-Q1", ""):
        with pytest.raises(ValueError):
            parse_period(bad)
    query = parse_seizure_query({"group_by": "quarter", "period": "2026", "substance": "cocaine"})
    assert query.combination() == "group_by=quarter&period=2026&substance=cocaine"
    with pytest.raises(ValidationError) as refused:
        parse_seizure_query({"from": "2026-01-01", "to": "2026-02-15"})
    assert refused.value.fields["from"] == refused.value.fields["to"]
    assert "fixed reporting periods only, not for free date ranges" in refused.value.fields["from"]


def test_free_ranges_are_refused_in_plain_words(world, client, new_client):
    api = client.get("/api/v1/stats/seizures?from=2025-01-01&to=2025-03-31", headers=bearer(world["outsider"]))
    body = api.get_json()["error"]
    assert api.status_code == 422 and body["message"].startswith("Statistics are given for fixed reporting periods")
    assert "2025-Q3" in body["message"] and set(body["fields"]) == {"from", "to"}
    page = new_client(world["outsider"]).get("/stats/seizures?group_by=port&from=2025-01-01")
    html = page.get_data(as_text=True)
    assert page.status_code == 422 and "not for free date ranges" in html and "BEANR" not in html


def test_page_offers_periods_and_says_which(world, new_client):
    client = new_client(world["customs"])
    html = client.get("/stats/seizures?group_by=port&period=2025-Q1").get_data(as_text=True)
    assert 'name="period"' in html and 'value="2025-Q1"' in html and 'name="from"' not in html
    assert "Period: 2025-Q1 (incidents from 1 January 2025 to 31 March 2025)" in html
    assert _table(html)[1:] == [["BEANR", "2", "510", "2"], ["NLRTM", "1", "5", "1"]]
    assert "period=2025-Q1" in html.split("Download this table (CSV)", 1)[0].rsplit("href=", 1)[1]
    assert "Every period on record." in client.get("/stats/seizures").get_data(as_text=True)


# --- the daily bound -------------------------------------------------------------------------------


def test_new_combinations_beyond_the_daily_bound_are_refused_and_audited(app, world, client, new_client):
    app.config["STATS_DAILY_COMBINATIONS"] = 3
    user = world["outsider"]
    token = bearer(user)
    page = new_client(user)
    assert page.get("/stats/seizures?period=2025-Q1").status_code == 200
    assert page.get("/stats/seizures.csv?period=2025-Q2").status_code == 200
    api = client.get("/api/v1/stats/seizures?group_by=quarter", headers=token)
    assert api.status_code == 200
    # A fourth combination is refused everywhere, in plain words; those already asked stay open.
    refused = client.get("/api/v1/stats/seizures?group_by=substance", headers=token)
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) > 0
    assert "You have looked at 3 different statistics today" in refused.get_json()["error"]["message"]
    refused_page = page.get("/stats/seizures?period=2025")
    assert refused_page.status_code == 429 and "3 different statistics today" in refused_page.get_data(as_text=True)
    assert page.get("/stats/seizures.csv?period=2025-Q3").status_code == 429
    assert client.get("/api/v1/stats/seizures?period=2025-Q1&group_by=port", headers=token).status_code == 200
    assert page.get("/stats/seizures?group_by=quarter").status_code == 200
    # Another account has its own bound.
    assert new_client(world["customs"]).get("/stats/seizures?group_by=substance").status_code == 200

    db.session.commit()
    events = db.session.scalars(
        sa.select(AuditEvent)
        .where(AuditEvent.actor_id == user.id, AuditEvent.action.like("stats.%"))
        .order_by(AuditEvent.seq)
    ).all()
    assert [(e.action, e.outcome, e.details["combination"], e.details["via"]) for e in events] == [
        ("stats.query", "ok", "group_by=port&period=2025-Q1", "page"),
        ("stats.export", "ok", "group_by=port&period=2025-Q2", "csv"),
        ("stats.query", "ok", "group_by=quarter", "api"),
        ("stats.query", "refused", "group_by=substance", "api"),
        ("stats.query", "refused", "group_by=port&period=2025", "page"),
        ("stats.export", "refused", "group_by=port&period=2025-Q3", "csv"),
        ("stats.query", "ok", "group_by=port&period=2025-Q1", "api"),
        ("stats.query", "ok", "group_by=quarter", "page"),
    ]
    assert all(set(e.details) <= {"combination", "via", "groups", "withheld", "reason"} for e in events)


# --- differencing ----------------------------------------------------------------------------------

PORTS = ("BEANR", "NLRTM", "DEHAM")
SUBSTANCES = ("cocaine", "cannabis", "heroin", "synthetic_drugs", "precursors", "other", "none")
MODI = ("rip_on_rip_off", "container_cloning")
QUARTERS = ("2025-Q1", "2025-Q2", "2025-Q3", "2025-Q4")
PERIODS = (None, "2025", *QUARTERS)


def _in_period(quarter: str, period: str | None) -> bool:
    return period is None or quarter == period or quarter.startswith(f"{period}-")


def _truth(
    notes: list[dict[str, Any]], group_by: str, period: str | None, substance: str | None
) -> dict[str, frozenset[int]]:
    """The notes behind each group of a view, worked out here from the world, not by the code under test."""
    dimension = {"port": "port", "substance": "substance", "quarter": "quarter", "modus_operandi": "modus"}[group_by]
    groups: dict[str, set[int]] = {}
    for n in notes:
        if _in_period(n["quarter"], period) and substance in (None, n["substance"]):
            groups.setdefault(n[dimension], set()).add(n["id"])
    return {key: frozenset(ids) for key, ids in groups.items()}


class Span:
    """Exact linear algebra over the rationals: which sets of notes a linear combination of the
    published figures determines (a withheld cell is recoverable exactly when its indicator
    vector lies in the span of the published ones: then its count and its weight both are)."""

    def __init__(self, size: int):
        from fractions import Fraction

        self.fraction, self.size, self.basis = Fraction, size, {}  # pivot -> reduced row

    def _reduce(self, ids: frozenset[int]) -> list[Any]:
        row = [self.fraction(int(i in ids)) for i in range(self.size)]
        for pivot, base in self.basis.items():
            if row[pivot]:
                factor = row[pivot]
                row = [a - factor * b for a, b in zip(row, base, strict=True)]
        return row

    def add(self, ids: frozenset[int]) -> None:
        row = self._reduce(ids)
        pivot = next((i for i, v in enumerate(row) if v), None)
        if pivot is None:
            return
        row = [v / row[pivot] for v in row]
        for other, base in self.basis.items():
            if base[pivot]:
                self.basis[other] = [a - base[pivot] * b for a, b in zip(base, row, strict=True)]
        self.basis[pivot] = row

    def determines(self, ids: frozenset[int]) -> bool:
        return not any(self._reduce(ids))


def test_no_pair_of_published_figures_or_total_gives_a_withheld_cell_away(app, make, client):
    """An attacker asks, within the daily bound, for every combination the API permits (group_by, period and
    substance) and tries to recover a withheld cell by subtraction: one published figure
    minus another, a total (any published figure) minus the sum of a view's published cells, a
    year minus its published quarters, and indeed any linear combination."""
    import random

    rng = random.Random(19)
    orgs = [author(make, org_type="port_authority") for _ in range(8)]
    notes: list[dict[str, Any]] = []

    def add(org_index: int, port: str, substance: str, modus: str, quarter: str, kg: int) -> None:
        q = int(quarter[-1])
        day = f"2025-{3 * q - 2:02d}-{rng.randint(1, 28):02d}"
        note(orgs[org_index], port=port, occurred_on=day, kg=kg, substance=substance, modus=modus)
        notes.append(
            {"id": len(notes), "org": org_index, "port": port, "substance": substance, "modus": modus}
            | {"quarter": quarter, "kg": kg}
        )

    for _ in range(40):
        add(
            rng.randrange(8),
            rng.choice(PORTS),
            rng.choice(SUBSTANCES[:3]),
            rng.choice(MODI),
            rng.choice(QUARTERS),
            rng.randint(1, 900),
        )
    add(0, "DEHAM", "synthetic_drugs", "container_cloning", "2025-Q2", 4242)  # the lone note to find

    attacker = make.user(org_type="port_authority")
    token = bearer(attacker)
    combinations = [(g, p, s) for g in GroupBy.values() for p in PERIODS for s in (None, *SUBSTANCES)]
    app.config["STATS_DAILY_COMBINATIONS"] = len(combinations)

    published: dict[frozenset[int], str] = {}  # the notes behind each published figure -> where it was seen
    views: list[frozenset[int]] = []  # the union of each view's published cells (its printed total)
    withheld: dict[frozenset[int], str] = {}  # cells below the threshold -> where
    secondary = 0
    for group_by, period, substance in combinations:
        params = (
            {"group_by": group_by}
            | ({"period": period} if period else {})
            | ({"substance": substance} if substance else {})
        )
        answer = client.get("/api/v1/stats/seizures", query_string=params, headers=token)
        assert answer.status_code == 200, params
        body = answer.get_json()
        truth = _truth(notes, group_by, period, substance)
        shown = {item["group"]: item for item in body["items"]}
        for key, ids in truth.items():
            organisations = len({notes[i]["org"] for i in ids})
            if key in shown:
                # What is published is what the world holds, to the note and the kilogram.
                item = shown[key]
                assert (item["notes"], item["quantity_kg"], item["organisations"]) == (
                    len(ids),
                    float(sum(notes[i]["kg"] for i in ids)),
                    organisations,
                ), (params, key)
                published[ids] = f"{params} {key}"
            elif organisations < 3:
                withheld[ids] = f"{params} {key}"
            else:
                secondary += 1
        assert set(shown) <= set(truth) and body["withheld_groups"] == len(truth) - len(shown)
        views.append(frozenset().union(*(truth[k] for k in shown)))
    # The bound held: one more combination is refused.
    assert client.get("/api/v1/stats/seizures?period=2024", headers=token).status_code == 429

    lone = frozenset({len(notes) - 1})
    assert lone in withheld and len(withheld) > 20 and len(published) > 10 and secondary > 0

    figures = set(published) | set(views) | {frozenset()}
    for cell, where in withheld.items():
        for whole in figures:
            if cell <= whole:
                # A published figure minus another one (or minus nothing).
                assert whole - cell not in figures, (where, published.get(whole))
                # A total minus the sum of a view's published cells (a year minus its quarters too).
                for view in views:
                    assert not (view <= whole and whole - view == cell), where

    span = Span(len(notes))
    for ids in figures:
        span.add(ids)
    for cell, where in withheld.items():
        assert not span.determines(cell), where
