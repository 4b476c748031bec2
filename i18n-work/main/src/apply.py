"""Fill i18n-work/main/<lang>.po from i18n-work/main/src/<lang>.txt (lines: index TAB text; plurals: forms joined by ' || ')."""
import sys
from pathlib import Path

from babel.messages.pofile import read_po, write_po

HERE = Path(__file__).resolve().parent
AREA = HERE.parent
pot = read_po((AREA / "messages.pot").open("rb"))
ids = [m.id for m in pot if m.id]
for lang in sys.argv[1:]:
    po_path = AREA / f"{lang}.po"
    cat = read_po(po_path.open("rb"), locale=lang)
    seen = set()
    for line in (HERE / f"{lang}.txt").read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        num, text = line.split("\t", 1)
        mid = ids[int(num)]
        seen.add(int(num))
        msg = cat.get(mid)
        if isinstance(mid, tuple):
            forms = tuple(f.strip() for f in text.split(" || "))
            if len(forms) < cat.num_plurals:
                # CLDR's extra forms (French "many" for millions and the like) read as the last given.
                forms = forms + (forms[-1],) * (cat.num_plurals - len(forms))
            if len(forms) != cat.num_plurals:
                print(lang, num, "has", len(forms), "forms, want", cat.num_plurals)
            msg.string = forms
        else:
            msg.string = text.strip()
    missing = sorted(set(range(len(ids))) - seen)
    if missing:
        print(lang, "missing indices", missing)
    with po_path.open("wb") as f:
        write_po(f, cat, width=0, no_location=True, sort_output=True)
