"""Mail in the recipient's language (issue 23, item 3), delivered through a real SMTP server.

A French-speaking author publishes; the member who chose German and the member who chose Greek
each get the notification in their own language, not the author's: subject, text and footer.
Each expected text is read from that language's catalog, so the test checks what the reader
gets, not how the code computes it.
"""

from __future__ import annotations

import re
from pathlib import Path

from babel.messages.pofile import read_po
from flask_babel import force_locale

from app.extensions import db
from app.notifications.models import DeliveryMode
from app.notifications.outbox import send_due, smtp_settings
from tests.test_notifications import CLUSTER, follow, publish
from tests.test_outbox import MAIL_FROM

ROOT = Path(__file__).resolve().parent.parent
NEW_ITEM = "New item in a cluster you follow"
FOOTER = "This message holds no shared content on purpose: what members share stays in the portal."
GREEK = re.compile(r"[\u0370-\u03ff]")


def translation(code: str, english: str) -> str:
    with (ROOT / "translations" / code / "LC_MESSAGES" / "messages.po").open("rb") as f:
        message = read_po(f, locale=code).get(english)
    assert message is not None and message.string, f"{english!r} is not translated in {code}"
    return message.string


def test_a_notification_reaches_german_and_greek_readers_in_their_languages(make, smtp) -> None:
    author = make.user(clusters={CLUSTER: "contributor"})
    german = make.user(clusters={CLUSTER: "reader"})
    greek = make.user(clusters={CLUSTER: "reader"})
    author.language, german.language, greek.language = "fr", "de", "el"
    db.session.commit()
    for reader in (german, greek):
        follow(reader, DeliveryMode.IMMEDIATE)
    # The author works in French: the mail must not follow the sender's language.
    with force_locale("fr"):
        publish(author, "GREEN")

    assert send_due(smtp_settings(smtp.url), MAIL_FROM).sent == 2
    received = {mail.envelope_to[0]: mail for mail in smtp.inbox}
    for reader, code in ((german, "de"), (greek, "el")):
        mail = received[reader.email]
        subject, text = mail.message["Subject"], mail.text
        assert translation(code, NEW_ITEM) in subject and "[TLP:GREEN]" in subject
        assert translation(code, NEW_ITEM) in text
        assert translation(code, FOOTER) in text
        assert NEW_ITEM not in subject + text and FOOTER not in text
        assert translation("fr", NEW_ITEM) not in subject + text
    assert GREEK.search(received[greek.email].message["Subject"])
    assert not GREEK.search(received[german.email].text)


def test_a_member_who_never_chose_gets_english_mail(make, smtp) -> None:
    author = make.user(clusters={CLUSTER: "contributor"})
    reader = make.user(clusters={CLUSTER: "reader"})
    follow(reader, DeliveryMode.IMMEDIATE)
    with force_locale("pl"):
        publish(author, "GREEN")
    assert send_due(smtp_settings(smtp.url), MAIL_FROM).sent == 1
    [mail] = smtp.inbox
    assert NEW_ITEM in mail.message["Subject"] and FOOTER in mail.text
