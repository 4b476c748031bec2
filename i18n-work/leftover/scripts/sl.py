from common import apply
apply("sl", [
"Zamenjaj jezik",
"S seznama izberite enega od uradnih jezikov EU.",
"Izvajanje časovnega načrta EU za boj proti trgovini z drogami in organiziranemu kriminalu v pristaniščih: zakonodaja, standardi, smernice in spremljanje izpolnjevanja zavez zavezništva.",
"Skupno delo pristaniških organov, upravljavcev terminalov, ladjarjev, carine in policije proti metodi rip-on/rip-off, zlorabi zabojnikov in ekipam za odvzem: kazalniki tveganja, skupni nadzor, pretok informacij med pristaniško skupnostjo in organi kazenskega pregona.",
"Jezik",
"PAX vam bo odslej prikazoval strani in pošiljal e-sporočila v tem jeziku.",
"Strani in e-sporočila, ki vam jih pošilja PAX, so napisani v tem jeziku. Besedila članov ostanejo v jeziku, v katerem so jih napisali.",
"Zaščita pristaniškega osebja in postopkov pred infiltracijo in korupcijo: varnostno preverjanje, notranje tveganje, nadzor dostopa do zabojnikov in sistemov ter podpora ogroženim delavcem.",
"Shrani jezik",
"Skeniranje, odkrivanje, analitika podatkov in varni digitalni postopki, ki logistična vozlišča in ladijski promet naredijo odporne proti zlorabi v kriminalne namene, od pilotnih projektov do javnih naročil.",
"Jezik brskalnika (e-pošta v angleščini)",
"ni jasno, ali pika ločuje tisočice ali decimalna mesta: napišite 1234 ali 1,234",
])
