import sys
from babel.messages.pofile import read_po, write_po
KEYS = [
"Change language",
"Choose one of the official languages of the EU from the list.",
"Implementing the EU Roadmap against drug trafficking and organised crime in ports: legislation, standards, guidance and the follow-up of the Alliance's commitments.",
"Joint work between port authorities, terminal operators, shipping lines, customs and police against rip-on/rip-off, container misuse and extraction teams: risk indicators, joint controls, information flows between the port community and law enforcement.",
"Language",
"PAX now writes your pages and e-mails in this language.",
"Pages and the e-mails PAX sends you are written in this language. What members write stays in the language they wrote it in.",
"Protecting port staff and processes against infiltration and corruption: vetting and screening, insider risk, access control to containers and systems, and support for workers who are threatened.",
"Save language",
"Scanning, detection, data analytics and secure digital processes that make logistic hubs and shipping resilient to criminal misuse, from pilots to procurement.",
"The browser's language (mail in English)",
"it is unclear whether the point separates thousands or decimals: write 1234 or 1,234",
]
def apply(lang, vals):
    assert len(vals) == 12
    d = dict(zip(KEYS, vals))
    p = f"/work/main/i18n-work/leftover/{lang}.po"
    with open(p, "rb") as f:
        cat = read_po(f, locale=lang)
    for m in cat:
        if m.id and m.id in d:
            m.string = d[m.id]
    with open(p, "wb") as f:
        write_po(f, cat, width=0, no_location=True, sort_output=True)
    print(lang, "ok")
