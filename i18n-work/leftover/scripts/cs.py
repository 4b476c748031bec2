from common import apply
apply("cs", [
"Změnit jazyk",
"Vyberte ze seznamu jeden z úředních jazyků EU.",
"Provádění plánu EU pro boj proti obchodu s drogami a organizované trestné činnosti v přístavech: právní předpisy, normy, pokyny a sledování plnění závazků aliance.",
"Společná práce přístavních orgánů, provozovatelů terminálů, linkových lodních společností, celních orgánů a policie proti metodě rip-on/rip-off, zneužívání kontejnerů a extrakčním týmům: ukazatele rizik, společné kontroly, tok informací mezi přístavní komunitou a donucovacími orgány.",
"Jazyk",
"PAX vám nyní bude zobrazovat stránky a zasílat e-maily v tomto jazyce.",
"Stránky a e-maily, které vám PAX zasílá, jsou psány v tomto jazyce. Příspěvky členů zůstávají v jazyce, ve kterém byly napsány.",
"Ochrana přístavních zaměstnanců a procesů před infiltrací a korupcí: prověrky a bezpečnostní kontroly, vnitřní rizika, kontrola přístupu ke kontejnerům a systémům a podpora ohrožených pracovníků.",
"Uložit jazyk",
"Skenování, detekce, analýza dat a bezpečné digitální procesy, které zvyšují odolnost logistických uzlů a lodní dopravy vůči zneužití k trestné činnosti, od pilotních projektů po zadávání veřejných zakázek.",
"Jazyk prohlížeče (e-maily v angličtině)",
"není jasné, zda tečka odděluje tisíce, nebo desetinná místa: napište 1234 nebo 1,234",
])
