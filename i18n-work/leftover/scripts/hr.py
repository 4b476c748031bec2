from common import apply
apply("hr", [
"Promijeni jezik",
"S popisa odaberite jedan od službenih jezika EU-a.",
"Provedba Plana EU-a za borbu protiv trgovine drogom i organiziranog kriminala u lukama: zakonodavstvo, norme, smjernice i praćenje provedbe obveza Saveza.",
"Zajednički rad lučkih uprava, operatora terminala, brodarskih kompanija, carine i policije protiv metode rip-on/rip-off, zlouporabe kontejnera i timova za izvlačenje: pokazatelji rizika, zajedničke kontrole, protok informacija između lučke zajednice i tijela kaznenog progona.",
"Jezik",
"PAX Vam sada prikazuje stranice i šalje e-poruke na ovom jeziku.",
"Stranice i e-poruke koje Vam PAX šalje napisane su na ovom jeziku. Ono što članovi napišu ostaje na jeziku na kojem su to napisali.",
"Zaštita lučkog osoblja i procesa od infiltracije i korupcije: sigurnosne provjere i provjere podobnosti, unutarnji rizik, kontrola pristupa kontejnerima i sustavima te potpora radnicima kojima se prijeti.",
"Spremi jezik",
"Skeniranje, otkrivanje, analitika podataka i sigurni digitalni procesi koji logistička čvorišta i pomorski prijevoz čine otpornima na zlouporabu u kriminalne svrhe, od pilot-projekata do javne nabave.",
"Jezik preglednika (e-pošta na engleskom)",
"nije jasno odvaja li točka tisućice ili decimale: napišite 1234 ili 1,234",
])
