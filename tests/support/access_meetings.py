"""Access rules of the meetings routes, merged into ``tests/test_access_matrix.ACCESS``.

The sample meeting is a GREEN technical meeting of the policy cluster (whose coordinator the
matrix's "coordinator" is), organised by someone who is not one of the matrix's roles. It invites
the sample organisation, whose focal point (the matrix's "focal_point") named themself as its
delegate: only they name that delegation and answer that invitation. The calendar feed's sample
address names no subscription, so every role gets 404 (tests/test_calendar_feed.py reads real ones).
"""

MEETINGS_ACCESS: dict[str, str] = {
    "meetings.index": "signed_in",
    "meetings.calendar": "signed_in",
    "meetings.show": "signed_in",
    "meetings.ics": "signed_in",
    "meetings.document": "signed_in",
    "meetings.document_audience": "signed_in",
    "meetings.document_versions": "signed_in",
    "meetings.download_version": "signed_in",
    "meetings.document_preview": "signed_in",
    "meetings.document_thumbnail": "signed_in",
    "meetings.upload_document_version": "document_remover",
    "meetings.new": "meeting_scheduler",
    "meetings.edit": "meeting_preparer",
    "meetings.agenda": "meeting_preparer",
    "meetings.edit_agenda_item": "meeting_preparer",
    "meetings.move_agenda_item": "meeting_preparer",
    "meetings.remove_agenda_item": "meeting_preparer",
    "meetings.minutes": "meeting_preparer",
    "meetings.upload_document": "meeting_preparer",
    "meetings.move_document": "meeting_preparer",
    "meetings.edit_document": "document_remover",
    "meetings.delete_document": "document_remover",
    "meetings.delete": "meeting_deleter",
    "meetings.participant_list": "signed_in",
    "meetings.invite": "meeting_preparer",
    "meetings.withdraw": "meeting_preparer",
    "meetings.participants_csv": "meeting_preparer",
    "meetings.participants_xlsx": "meeting_preparer",
    "meetings.delegation": "focal_point",
    "meetings.rsvp": "focal_point",
    "meetings.action_point": "curator",
    "meetings.subscription": "signed_in",
    "meetings.feed": "not_found",
    "api.list_meetings": "token",
    "api.get_meeting": "token",
    "api.download_meeting_document": "token",
    "api.create_meeting": "token_meeting_scheduler",
    "api.update_meeting": "token_meeting_preparer",
    "api.upload_meeting_document": "token_meeting_preparer",
    "api.delete_meeting": "token_meeting_deleter",
    "api.delete_meeting_document": "token_document_remover",
}
