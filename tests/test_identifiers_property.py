"""Container and vessel numbers through the API: every valid one is accepted, every corruption refused.

Valid numbers are built from their parts with python-stdnum's check-digit functions: ISO 6346
(owner code, category U/J/Z, six-digit serial, check digit) and IMO (six digits, check digit).
A corruption changes one character to another of the same kind, so the number keeps its shape
and only the check digit can tell; corruptions that happen to be valid again are skipped.

Hypothesis runs many examples inside one test, so the function-scoped fixtures (app, client,
account) are made once per test and shared by its examples; each example compares the number of
posts before and after its own request.
"""

from __future__ import annotations

import string

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from stdnum import imo, iso6346

from tests.test_api_posts import CLUSTER, bearer, incident_note, post_count

SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

LETTERS = string.ascii_uppercase
DIGITS = string.digits


@st.composite
def container_numbers(draw: st.DrawFn) -> str:
    owner = draw(st.text(LETTERS, min_size=3, max_size=3))
    category = draw(st.sampled_from("UJZ"))
    serial = draw(st.text(DIGITS, min_size=6, max_size=6))
    start = owner + category + serial
    return start + iso6346.calc_check_digit(start)


@st.composite
def imo_numbers(draw: st.DrawFn) -> str:
    start = draw(st.text(DIGITS, min_size=6, max_size=6))
    return start + imo.calc_check_digit(start)


def _alphabet_at(position: int, kind: str) -> str:
    """The characters a valid number may have at ``position``: same shape, different value."""
    if kind == "container":
        return LETTERS if position < 3 else "UJZ" if position == 3 else DIGITS
    return DIGITS


@st.composite
def corrupted(draw: st.DrawFn, numbers: st.SearchStrategy[str], kind: str) -> tuple[str, str]:
    valid = draw(numbers)
    position = draw(st.integers(0, len(valid) - 1))
    replacement = draw(st.sampled_from([c for c in _alphabet_at(position, kind) if c != valid[position]]))
    return valid, valid[:position] + replacement + valid[position + 1 :]


@pytest.fixture
def headers(make):  # type: ignore[no-untyped-def]
    return bearer(make.user(clusters={CLUSTER: "contributor"}, org_type="customs"))


@pytest.fixture
def incident_post(client, headers):  # type: ignore[no-untyped-def]
    """One incident note per test, edited (and refused) by every example."""
    response = post_incident(client, headers)
    assert response.status_code == 201
    return response.get_json()


def post_incident(client, headers, **incident):  # type: ignore[no-untyped-def]
    return client.post("/api/v1/posts", json=incident_note(**incident), headers=headers)


@SETTINGS
@given(number=container_numbers(), spaced=st.booleans(), lower=st.booleans())
def test_every_valid_container_number_is_accepted(client, headers, number, spaced, lower):
    sent = iso6346.format(number) if spaced else number
    sent = sent.lower() if lower else sent
    response = post_incident(client, headers, container_numbers=[sent], vessel_imo=None)
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["incident"]["container_numbers"] == [number]


@SETTINGS
@given(pair=corrupted(container_numbers(), "container"))
def test_every_corrupted_container_number_is_refused(client, headers, pair):
    valid, wrong = pair
    assume(not iso6346.is_valid(wrong))
    before = post_count()
    response = post_incident(client, headers, container_numbers=[valid, wrong], vessel_imo=None)
    assert response.status_code == 422
    fields = response.get_json()["error"]["fields"]
    assert set(fields) == {"incident.container_numbers"}
    assert wrong in fields["incident.container_numbers"]
    assert post_count() == before


@SETTINGS
@given(number=imo_numbers(), prefixed=st.booleans())
def test_every_valid_imo_number_is_accepted(client, headers, number, prefixed):
    response = post_incident(client, headers, vessel_imo=f"IMO {number}" if prefixed else number)
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["incident"]["vessel_imo"] == number


@SETTINGS
@given(pair=corrupted(imo_numbers(), "imo"))
def test_every_corrupted_imo_number_is_refused(client, headers, pair):
    _valid, wrong = pair
    # A digit changed by 5 under an even weight keeps the IMO sum: the check digit cannot see it.
    assume(not imo.is_valid(wrong))
    before = post_count()
    response = post_incident(client, headers, vessel_imo=wrong)
    assert response.status_code == 422
    fields = response.get_json()["error"]["fields"]
    assert set(fields) == {"incident.vessel_imo"}
    assert wrong in fields["incident.vessel_imo"]
    assert post_count() == before


@SETTINGS
@given(pair=corrupted(imo_numbers(), "imo"))
def test_a_corrupted_number_is_refused_on_edit_too(client, headers, incident_post, pair):
    _valid, wrong = pair
    assume(not imo.is_valid(wrong))
    post = incident_post
    url = f"/api/v1/posts/{post['id']}"
    response = client.patch(url, json={"incident": {**post["incident"], "vessel_imo": wrong}}, headers=headers)
    assert response.status_code == 422
    assert set(response.get_json()["error"]["fields"]) == {"incident.vessel_imo"}
    assert client.get(url, headers=headers).get_json() == post
