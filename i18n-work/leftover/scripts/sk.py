from common import apply
apply("sk", [
"Zmeniť jazyk",
"Vyberte zo zoznamu jeden z úradných jazykov EÚ.",
"Vykonávanie plánu EÚ na boj proti obchodovaniu s drogami a organizovanej trestnej činnosti v prístavoch: právne predpisy, normy, usmernenia a následné opatrenia k záväzkom aliancie.",
"Spoločná práca prístavných orgánov, prevádzkovateľov terminálov, lodných spoločností, colných orgánov a polície proti metóde rip-on/rip-off, zneužívaniu kontajnerov a extrakčným tímom: ukazovatele rizika, spoločné kontroly, tok informácií medzi prístavnou komunitou a orgánmi presadzovania práva.",
"Jazyk",
"PAX vám teraz bude zobrazovať stránky a posielať e-maily v tomto jazyku.",
"Stránky a e-maily, ktoré vám PAX posiela, sú napísané v tomto jazyku. Príspevky členov zostávajú v jazyku, v ktorom boli napísané.",
"Ochrana prístavných zamestnancov a procesov pred infiltráciou a korupciou: preverovanie a bezpečnostné kontroly, vnútorné riziko, kontrola prístupu ku kontajnerom a systémom a podpora ohrozených pracovníkov.",
"Uložiť jazyk",
"Skenovanie, detekcia, analýza údajov a bezpečné digitálne procesy, vďaka ktorým sú logistické uzly a námorná doprava odolné voči zneužívaniu na trestnú činnosť, od pilotných projektov až po verejné obstarávanie.",
"Jazyk prehliadača (e-maily v angličtine)",
"nie je jasné, či bodka oddeľuje tisícky, alebo desatinné miesta: napíšte 1234 alebo 1,234",
])
