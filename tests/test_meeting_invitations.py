"""Meeting invitations, delegations, answers, the participant list and its exports, reminders and
change notices: what organisers, focal points, delegates and outsiders see, and what arrives by
mail through a real SMTP server (aiosmtpd). Also agenda times, the video-conference link and
action points that become workplan items."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest
import sqlalchemy as sa
from icalendar import Calendar

from app.extensions import db
from tests.conftest import csrf_token_from
from tests.support.smtp import deliver_outbox
from tests.test_api_posts import bearer
from tests.test_meetings import schedule, technical


def senior_officials(**overrides: Any) -> dict[str, Any]:
    return technical(
        kind="senior_officials", cluster=None, title="Senior Officials' meeting on port security", agenda=None,
        **overrides,
    )  # fmt: skip


def schedule_som(curator: Any, **overrides: Any) -> Any:
    from app.meetings.services import schedule_meeting
    from app.meetings.validation import parse_meeting

    meeting = schedule_meeting(curator, parse_meeting(senior_officials(**overrides)))
    db.session.commit()
    return meeting


def _post(client: Any, url: str, **data: Any) -> Any:
    page = client.get("/account/").get_data(as_text=True)
    return client.post(url, data={"csrf_token": csrf_token_from(page), **data})


def _to(received: list[Any], user: Any) -> list[Any]:
    return [m for m in received if m.envelope_to == [user.email]]


@pytest.fixture
def delegation_world(make: Any) -> dict[str, Any]:
    """A curator (the organiser), and two member organisations, each with a focal point and
    colleagues."""
    curator = make.user(role="curator", org_type="commission")
    port = make.org("port_authority")
    customs = make.org("customs")
    return {
        "curator": curator,
        "port": port,
        "customs": customs,
        "port_focal": make.user(org=port, focal_point=True),
        "port_a": make.user(org=port),
        "port_b": make.user(org=port),
        "port_c": make.user(org=port),
        "customs_focal": make.user(org=customs, focal_point=True),
        "customs_a": make.user(org=customs),
        "outsider": make.user(),
    }


def test_green_senior_officials_meeting_invites_by_organisation_through_the_mail(
    app, make, runner, smtp, delegation_world, new_client
):
    """The issue's bug: a GREEN Senior Officials' meeting without a cluster sent 0 invitations.
    Now the organiser invites organisations; their focal points are asked by mail to name the
    delegation; the delegates are invited by mail and answer; a replacement is invited by mail."""
    from app.meetings.invitations import invite_organisation

    w = delegation_world
    meeting = schedule_som(w["curator"])
    curator_client = new_client(w["curator"])
    response = _post(
        curator_client, f"/meetings/{meeting.id}/invitations", kind="organisation",
        organisation=str(w["port"].id), delegation_size="2",
    )  # fmt: skip
    assert response.status_code == 302
    invite_organisation(w["curator"], meeting, w["customs"], 1)
    db.session.commit()

    received = deliver_outbox(app, runner, smtp)
    for focal in (w["port_focal"], w["customs_focal"]):
        [mail] = _to(received, focal)
        assert "name its delegation" in mail.message["Subject"]
        assert f"/meetings/{meeting.id}" in mail.text
        assert meeting.title not in mail.text  # mail never carries the item
    assert not _to(received, w["port_a"]) and not _to(received, w["outsider"])

    # The port's focal point names two colleagues; a third is refused (the delegation has two).
    focal_client = new_client(w["port_focal"])
    page = focal_client.get(f"/meetings/{meeting.id}").get_data(as_text=True)
    assert "Name your organisation&#39;s delegation" in page or "Name your organisation's delegation" in page
    three = [str(w[k].id) for k in ("port_a", "port_b", "port_c")]
    refused = _post(focal_client, f"/meetings/{meeting.id}/delegation", delegates=three)
    assert refused.status_code == 422 and "at most 2 people" in refused.get_data(as_text=True)
    other_org = _post(focal_client, f"/meetings/{meeting.id}/delegation", delegates=[str(w["customs_a"].id)])
    assert other_org.status_code == 422 and "own organisation" in other_org.get_data(as_text=True)
    assert _post(focal_client, f"/meetings/{meeting.id}/delegation", delegates=three[:2]).status_code == 302

    received = deliver_outbox(app, runner, smtp)
    for delegate in (w["port_a"], w["port_b"]):
        [mail] = _to(received, delegate)
        assert "You are invited to a meeting" in mail.message["Subject"]
        assert "When: " in mail.text and "Brussels time" in mail.text
    assert not _to(received, w["port_c"])

    # A delegate cannot name another organisation's delegation, nor answer for someone else.
    delegate_client = new_client(w["port_a"])
    assert _post(delegate_client, f"/meetings/{meeting.id}/delegation", delegates=three[:1]).status_code == 403
    assert _post(new_client(w["port_c"]), f"/meetings/{meeting.id}/rsvp", response="online").status_code == 404

    # port_a attends online; port_b does not and sends port_c instead.
    assert _post(delegate_client, f"/meetings/{meeting.id}/rsvp", response="online").status_code == 302
    b_client = new_client(w["port_b"])
    garbage = _post(b_client, f"/meetings/{meeting.id}/rsvp", response="maybe")
    assert garbage.status_code == 422 and "Choose whether you attend" in garbage.get_data(as_text=True)
    for junk in ("9" * 40, "x", "-1"):
        refused = _post(b_client, f"/meetings/{meeting.id}/rsvp", response="not_attending", replacement=junk)
        assert refused.status_code == 422 and "Choose a colleague" in refused.get_data(as_text=True)
    wrong = _post(
        b_client, f"/meetings/{meeting.id}/rsvp", response="not_attending", replacement=str(w["customs_a"].id)
    )
    assert wrong.status_code == 422 and "colleague of your organisation" in wrong.get_data(as_text=True)
    assert (
        _post(
            b_client, f"/meetings/{meeting.id}/rsvp", response="not_attending", replacement=str(w["port_c"].id)
        ).status_code
        == 302
    )
    [mail] = _to(deliver_outbox(app, runner, smtp), w["port_c"])
    assert "You are invited to a meeting" in mail.message["Subject"]

    # The organiser's participant list, with answers, and its exports.
    html = curator_client.get(f"/meetings/{meeting.id}/participants").get_data(as_text=True)
    for key in ("port_a", "port_b", "port_c"):
        assert w[key].name in html
    assert "Attends online" in html and "Does not attend" in html
    assert f"No answer yet (in place of {w['port_b'].name})" in html
    csv_response = curator_client.get(f"/meetings/{meeting.id}/participants.csv")
    assert csv_response.status_code == 200 and csv_response.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(csv_response.get_data(as_text=True).lstrip("\ufeff"))))
    assert rows[0][:5] == ["Name", "E-mail", "Organisation", "Invited as", "Answer"]
    by_name = {r[0]: r for r in rows[1:]}
    assert by_name[w["port_a"].name][4] == "Attends online"
    assert by_name[w["port_c"].name][5] == w["port_b"].name
    assert by_name[w["port_a"].name][3] == f"Delegation of {w['port'].name}"
    xlsx = curator_client.get(f"/meetings/{meeting.id}/participants.xlsx")
    from openpyxl import load_workbook

    sheet = load_workbook(io.BytesIO(xlsx.data)).active
    assert [c.value for c in next(sheet.iter_rows(max_row=1))][:2] == ["Name", "E-mail"]
    assert sheet.max_row == 4
    # Only those who prepare the meeting export it; the GREEN list is seen by every member.
    assert delegate_client.get(f"/meetings/{meeting.id}/participants.csv").status_code == 403
    assert w["port_a"].name in new_client(w["outsider"]).get(f"/meetings/{meeting.id}/participants").get_data(
        as_text=True
    )


def test_senior_officials_meetings_invite_by_organisation_only(app, make, delegation_world, new_client):
    w = delegation_world
    meeting = schedule_som(w["curator"])
    client = new_client(w["curator"])
    person = _post(client, f"/meetings/{meeting.id}/invitations", kind="person", email=w["port_a"].email)
    assert person.status_code == 422 and "invites by organisation" in person.get_data(as_text=True)
    cluster = _post(client, f"/meetings/{meeting.id}/invitations", kind="cluster", cluster="policy")
    assert cluster.status_code == 422 and "invites by organisation" in cluster.get_data(as_text=True)
    too_big = _post(
        client, f"/meetings/{meeting.id}/invitations", kind="organisation", organisation=str(w["port"].id),
        delegation_size="1000",
    )  # fmt: skip
    assert too_big.status_code == 422 and "A delegation has from 1 to" in too_big.get_data(as_text=True)
    nonsense = _post(
        client, f"/meetings/{meeting.id}/invitations", kind="organisation", organisation="x'1", delegation_size="z"
    )
    assert nonsense.status_code == 422
    assert _post(client, f"/meetings/{meeting.id}/invitations", kind="nothing").status_code == 422
    huge = _post(
        client, f"/meetings/{meeting.id}/invitations", kind="organisation", organisation="9" * 30,
        delegation_size="9" * 30,
    )  # fmt: skip
    assert huge.status_code == 422
    # A member who does not prepare the meeting cannot invite.
    assert _post(new_client(w["port_a"]), f"/meetings/{meeting.id}/invitations", kind="organisation").status_code == 403


def test_an_invitation_never_widens_who_sees_the_meeting(app, make, delegation_world, new_client):
    """An AMBER+STRICT meeting: an organisation or person outside its audience cannot be invited,
    and its participant list is a 404 to outsiders like the meeting itself."""
    from app.meetings.invitations import invite_organisation, name_delegation
    from app.meetings.models import MeetingInvitation
    from app.validation import ValidationError

    w = delegation_world
    meeting = schedule_som(w["curator"], tlp="AMBER+STRICT", recipient_orgs=[w["port"].name])
    refused = _post(
        new_client(w["curator"]), f"/meetings/{meeting.id}/invitations", kind="organisation",
        organisation=str(w["customs"].id), delegation_size="2",
    )  # fmt: skip
    assert refused.status_code == 422 and "may see this TLP:AMBER+STRICT meeting" in refused.get_data(as_text=True)
    invitation = invite_organisation(w["curator"], meeting, w["port"], 2)
    name_delegation(w["port_focal"], invitation, [w["port_a"]])
    db.session.commit()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(MeetingInvitation)) == 1
    outsider = new_client(w["outsider"])
    assert outsider.get(f"/meetings/{meeting.id}/participants").status_code == 404
    assert outsider.get(f"/meetings/{meeting.id}/participants.csv").status_code == 404
    assert outsider.post(f"/meetings/{meeting.id}/rsvp").status_code in (400, 404)
    assert w["port_a"].name in new_client(w["port_b"]).get(f"/meetings/{meeting.id}/participants").get_data(
        as_text=True
    )
    with pytest.raises(ValidationError):
        name_delegation(w["port_focal"], invitation, [w["customs_a"]])


def test_a_technical_meeting_invites_a_cluster_and_named_people(app, make, runner, smtp, new_client):
    coordinator = make.user(clusters={"policy": "coordinator"})
    members = [make.user(clusters={"policy": "reader"}) for _ in range(2)]
    other = make.user(clusters={"innovation": "reader"})
    meeting = schedule(coordinator)
    deliver_outbox(app, runner, smtp)  # the cluster members' existing announcement
    client = new_client(coordinator)
    assert _post(client, f"/meetings/{meeting.id}/invitations", kind="cluster", cluster="policy").status_code == 302
    assert _post(client, f"/meetings/{meeting.id}/invitations", kind="person", email=other.email).status_code == 302
    again = _post(client, f"/meetings/{meeting.id}/invitations", kind="person", email=other.email)
    assert again.status_code == 422 and "invited already" in again.get_data(as_text=True)
    unknown = _post(client, f"/meetings/{meeting.id}/invitations", kind="person", email="nobody@nowhere.example")
    assert unknown.status_code == 422 and "No member has that e-mail address" in unknown.get_data(as_text=True)
    received = deliver_outbox(app, runner, smtp)
    assert len(_to(received, other)) == 1
    html = client.get(f"/meetings/{meeting.id}/participants").get_data(as_text=True)
    for person in [*members, other]:
        assert person.name in html
    assert "Member of Policy development and implementation" in html and "Invited by name" in html
    # Withdrawing the named person's invitation takes them off the list; the cluster stays.
    from app.meetings.models import MeetingInvitation

    named = db.session.scalar(sa.select(MeetingInvitation).where(MeetingInvitation.user_id == other.id))
    url = f"/meetings/{meeting.id}/invitations/{named.id}/withdraw"
    assert _post(new_client(members[0]), url).status_code == 403
    assert _post(client, url).status_code == 302
    html = client.get(f"/meetings/{meeting.id}/participants").get_data(as_text=True)
    assert other.name not in html and members[0].name in html
    assert _post(client, url).status_code == 404


def test_a_change_of_time_or_place_tells_everyone_invited_in_their_own_time_zone(
    app, make, runner, smtp, delegation_world
):
    from app.meetings.invitations import invite_organisation, name_delegation
    from app.meetings.services import update_meeting
    from app.meetings.validation import parse_meeting

    w = delegation_world
    lisbon = w["port_a"]
    lisbon.time_zone = "Europe/Lisbon"
    meeting = schedule_som(w["curator"])
    invitation = invite_organisation(w["curator"], meeting, w["port"], 2)
    name_delegation(w["port_focal"], invitation, [lisbon, w["port_b"]])
    db.session.commit()
    deliver_outbox(app, runner, smtp)
    update_meeting(
        w["curator"], meeting,
        parse_meeting(senior_officials(starts_at="2027-03-02T14:00:00+01:00", ends_at="2027-03-02T16:00:00+01:00")),
    )  # fmt: skip
    db.session.commit()
    received = deliver_outbox(app, runner, smtp)
    [to_lisbon] = _to(received, lisbon)
    assert "has changed" in to_lisbon.message["Subject"]
    assert "13:00 to 15:00 Lisbon time (WET)" in to_lisbon.text
    [to_brussels] = _to(received, w["port_b"])
    assert "14:00 to 16:00 Brussels time (CET)" in to_brussels.text
    # The focal point who named the delegation hears of it too; someone not invited does not.
    assert len(_to(received, w["port_focal"])) == 1
    assert not _to(received, w["outsider"])
    # A new place is a change too.
    update_meeting(w["curator"], meeting, parse_meeting(senior_officials(
        starts_at="2027-03-02T14:00:00+01:00", ends_at="2027-03-02T16:00:00+01:00", location="Antwerp")))  # fmt: skip
    db.session.commit()
    assert len(_to(deliver_outbox(app, runner, smtp), lisbon)) == 1


def test_reminders_go_before_the_meeting_once_each_and_never_to_those_who_declined(
    app, make, runner, smtp, delegation_world
):
    from app.meetings.invitations import answer, invite_organisation, name_delegation
    from app.meetings.models import Rsvp
    from app.meetings.participants import participant_rows

    w = delegation_world
    meeting = schedule_som(w["curator"])  # 2027-03-02 09:30 Brussels
    invitation = invite_organisation(w["curator"], meeting, w["port"], 2)
    name_delegation(w["port_focal"], invitation, [w["port_a"], w["port_b"]])
    declined = next(
        r.participant for r in participant_rows(w["port_b"], meeting) if r.participant.user_id == w["port_b"].id
    )
    answer(w["port_b"], declined, Rsvp.NOT_ATTENDING)
    db.session.commit()
    deliver_outbox(app, runner, smtp)

    def run(now: str) -> list[Any]:
        result = runner.invoke(args=["notifications", "reminders", "--now", now])
        assert result.exit_code == 0, result.output
        return deliver_outbox(app, runner, smtp)

    assert run("2027-02-20T09:00:00+01:00") == []  # 10 days before: nothing yet
    week = run("2027-02-23T10:00:00+01:00")  # under 7 days before
    assert [m.envelope_to for m in week] == [[w["port_a"].email]]
    assert "Reminder" in week[0].message["Subject"] and "When: " in week[0].text
    assert run("2027-02-24T10:00:00+01:00") == []  # the same reminder is not sent again
    day = run("2027-03-01T12:00:00+01:00")  # under a day before
    assert [m.envelope_to for m in day] == [[w["port_a"].email]]
    assert run("2027-03-01T18:00:00+01:00") == []
    assert run("2027-03-03T09:00:00+01:00") == []  # after the meeting
    bad = runner.invoke(args=["notifications", "reminders", "--now", "tomorrow"])
    assert bad.exit_code != 0 and "Traceback" not in bad.output


def test_agenda_items_have_start_times_durations_and_speakers(app, make, new_client):
    coordinator = make.user(clusters={"policy": "coordinator"})
    meeting = schedule(coordinator, agenda=None)
    client = new_client(coordinator)
    response = _post(
        client, f"/meetings/{meeting.id}/agenda", title="Roadmap", start_time="10:30", duration_minutes="45",
        speakers="DG HOME, Europol",
    )  # fmt: skip
    assert response.status_code == 302
    bad = _post(client, f"/meetings/{meeting.id}/agenda", title="X", start_time="25:99", duration_minutes="-4")
    assert bad.status_code == 422 and "whole minutes" in bad.get_data(as_text=True)
    html = client.get(f"/meetings/{meeting.id}").get_data(as_text=True)
    assert "10:30</time>, 45 minutes. Speakers: DG HOME, Europol" in html
    reader = make.user()
    reader.time_zone = "Europe/Lisbon"
    db.session.commit()
    assert "09:30</time>, 45 minutes" in new_client(reader).get(f"/meetings/{meeting.id}").get_data(as_text=True)
    item = client.get(f"/api/v1/meetings/{meeting.id}", headers=bearer(coordinator, "read")).get_json()["agenda"][0]
    assert item["starts_at"] == "2027-03-02T09:30:00+00:00"  # 10:30 Brussels time
    assert item["duration_minutes"] == 45 and item["speakers"] == "DG HOME, Europol"


def test_the_api_sends_agenda_times_and_the_video_link(app, make, client):
    coordinator = make.user(clusters={"policy": "coordinator"})
    headers = bearer(coordinator)
    body = technical(
        video_link="https://video.example.eu/j/42",
        agenda=[{"title": "Opening", "starts_at": "2027-03-02T09:30:00+01:00", "duration_minutes": 15,
                 "speakers": "Chair"}],
    )  # fmt: skip
    created = client.post("/api/v1/meetings", json=body, headers=headers)
    assert created.status_code == 201, created.get_json()
    got = created.get_json()
    assert got["video_link"] == "https://video.example.eu/j/42"
    assert got["agenda"][0]["duration_minutes"] == 15 and got["agenda"][0]["speakers"] == "Chair"
    # A PATCH that does not send the link keeps it; a naive time (no offset) is refused in words.
    patched = client.patch(f"/api/v1/meetings/{got['id']}", json={"title": "Renamed"}, headers=headers)
    assert patched.get_json()["video_link"] == "https://video.example.eu/j/42"
    naive = technical(agenda=[{"title": "X", "starts_at": "2027-03-02T09:30:00"}])
    refused = client.post("/api/v1/meetings", json=naive, headers=headers)
    assert refused.status_code == 422 and "offset" in refused.get_data(as_text=True)
    bad = client.post("/api/v1/meetings", json=technical(video_link="http://plain.example"), headers=headers)
    assert bad.status_code == 422 and "https://" in bad.get_json()["error"]["fields"]["video_link"]


def test_the_video_link_follows_the_meetings_marking(app, make, new_client):
    coordinator = make.user(clusters={"policy": "coordinator"})
    link = "https://video.example.eu/j/123456"
    green = schedule(coordinator, video_link=link)
    amber = schedule(coordinator, video_link=link, tlp="AMBER")
    client = new_client(coordinator)
    assert link in client.get(f"/meetings/{green.id}").get_data(as_text=True)
    assert link in client.get(f"/meetings/{amber.id}").get_data(as_text=True)
    [green_event] = Calendar.from_ical(client.get(f"/meetings/{green.id}/meeting.ics").data).walk("VEVENT")
    assert link in str(green_event["DESCRIPTION"])
    amber_ics = client.get(f"/meetings/{amber.id}/meeting.ics").data
    assert link.encode() not in amber_ics
    police = make.user(org_type="police", clusters={"policy": "coordinator"})
    le_only = schedule(police, video_link=link, law_enforcement_only=True)
    assert link.encode() not in new_client(police).get(f"/meetings/{le_only.id}/meeting.ics").data
    # Outside the AMBER audience nobody reaches the link.
    assert link not in new_client(make.user()).get(f"/meetings/{amber.id}").get_data(as_text=True)
    from app.meetings.validation import parse_meeting
    from app.validation import ValidationError

    with pytest.raises(ValidationError) as caught:
        parse_meeting(technical(video_link="javascript:alert(1)"))
    assert "https://" in caught.value.fields["video_link"]


def test_action_points_become_workplan_items_linked_to_the_meeting(app, make, new_client):
    from app.workplan.models import WorkplanItem

    curator = make.user(role="curator", org_type="commission")
    meeting = schedule(curator, tlp="AMBER")
    client = new_client(curator)
    response = _post(
        client, f"/meetings/{meeting.id}/action-points", title="Draft the vetting guide", due_date="2027-06-30"
    )
    assert response.status_code == 302
    item = db.session.scalar(sa.select(WorkplanItem).where(WorkplanItem.meeting_id == meeting.id))
    assert item is not None and item.title == "Draft the vetting guide" and item.cluster.slug == "policy"
    assert item.workplan.year == 2027
    page = client.get(f"/meetings/{meeting.id}").get_data(as_text=True)
    assert f"/workplan/items/{item.id}" in page
    item_page = client.get(f"/workplan/items/{item.id}").get_data(as_text=True)
    assert f"/meetings/{meeting.id}#action-points" in item_page and meeting.title in item_page
    # A member outside the AMBER meeting's audience sees the workplan item, not the meeting.
    outsider_page = new_client(make.user()).get(f"/workplan/items/{item.id}").get_data(as_text=True)
    assert meeting.title not in outsider_page and f"/meetings/{meeting.id}" not in outsider_page
    # Coordinators prepare the meeting but the workplan is curated: refused; empty titles are 422.
    coordinator = make.user(clusters={"policy": "coordinator"})
    assert _post(new_client(coordinator), f"/meetings/{meeting.id}/action-points", title="X").status_code == 403
    assert _post(client, f"/meetings/{meeting.id}/action-points", title="").status_code == 422


def test_participant_exports_cannot_carry_formulas(app, make, new_client):
    from app.auth.models import User
    from app.meetings.invitations import invite_person

    coordinator = make.user(clusters={"policy": "coordinator"})
    meeting = schedule(coordinator)
    person = make.user()
    db.session.execute(sa.update(User).where(User.id == person.id).values(name='=HYPERLINK("http://evil")'))
    db.session.commit()
    invite_person(coordinator, meeting, db.session.get(User, person.id))
    db.session.commit()
    text = new_client(coordinator).get(f"/meetings/{meeting.id}/participants.csv").get_data(as_text=True)
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    assert rows[1][0] == '\'=HYPERLINK("http://evil")'


def test_a_delegate_who_declines_gives_up_their_seat(app, make, delegation_world):
    from app.meetings.invitations import answer, invite_organisation, name_delegation, participation_of
    from app.meetings.models import Rsvp
    from app.validation import ValidationError

    w = delegation_world
    meeting = schedule_som(w["curator"])
    invitation = invite_organisation(w["curator"], meeting, w["port"], 2)
    name_delegation(w["port_focal"], invitation, [w["port_a"], w["port_b"]])
    answer(w["port_b"], participation_of(meeting, w["port_b"]), Rsvp.NOT_ATTENDING, w["port_c"])
    # The focal point saves the delegation again as the page shows it: three names, two seats.
    kept = name_delegation(w["port_focal"], invitation, [w["port_a"], w["port_b"], w["port_c"]])
    assert {p.user_id for p in kept} == {w["port_a"].id, w["port_b"].id, w["port_c"].id}
    with pytest.raises(ValidationError):
        name_delegation(w["port_focal"], invitation, [w["port_a"], w["port_c"], w["port_focal"]])
    with pytest.raises(ValidationError) as smaller:
        invite_organisation(w["curator"], meeting, w["port"], 1)
    assert "already named 2" in smaller.value.fields["delegation_size"]
    from app.privacy.export import personal_data

    [mine] = personal_data(w["port_b"])["meeting_participations"]
    assert mine["meeting_id"] == meeting.id and mine["response"] == "not_attending" and mine["responded_at"]


def test_a_participant_the_marking_no_longer_admits_is_marked_and_left_alone(app, make, runner, smtp, delegation_world):
    from app.meetings.invitations import invite_organisation, name_delegation
    from app.meetings.participants import participant_rows
    from app.meetings.services import update_meeting
    from app.meetings.validation import parse_meeting

    w = delegation_world
    meeting = schedule_som(w["curator"])
    name_delegation(w["customs_focal"], invite_organisation(w["curator"], meeting, w["customs"], 1), [w["customs_a"]])
    name_delegation(w["port_focal"], invite_organisation(w["curator"], meeting, w["port"], 1), [w["port_a"]])
    db.session.commit()
    deliver_outbox(app, runner, smtp)
    update_meeting(
        w["curator"], meeting, parse_meeting(senior_officials(tlp="AMBER+STRICT", recipient_orgs=[w["port"].name]))
    )
    db.session.commit()
    rows = {r.participant.user_id: r for r in participant_rows(w["curator"], meeting)}
    assert rows[w["customs_a"].id].answer == "No answer yet (may no longer see the meeting)"
    assert rows[w["port_a"].id].in_audience
    received = deliver_outbox(app, runner, smtp)
    assert not _to(received, w["customs_a"])  # no notice of a meeting they may no longer see
    result = runner.invoke(args=["notifications", "reminders", "--now", "2027-03-01T12:00:00+01:00"])
    assert result.exit_code == 0
    assert [m.envelope_to for m in deliver_outbox(app, runner, smtp)] == [[w["port_a"].email]]
