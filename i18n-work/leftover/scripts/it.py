from common import apply
apply("it", [
"Cambia lingua",
"Scelga una delle lingue ufficiali dell'UE dall'elenco.",
"Attuazione della tabella di marcia dell'UE per la lotta al traffico di droga e alla criminalità organizzata nei porti: legislazione, norme, orientamenti e seguito dato agli impegni dell'Alleanza.",
"Collaborazione tra autorità portuali, operatori del terminale, compagnie di navigazione, dogane e polizia contro il metodo rip-on/rip-off, l'uso improprio dei container e le squadre di estrazione: indicatori di rischio, controlli congiunti, flussi di informazioni tra la comunità portuale e le autorità di contrasto.",
"Lingua",
"PAX visualizza ora le Sue pagine e Le invia le e-mail in questa lingua.",
"Le pagine e le e-mail che PAX Le invia sono redatte in questa lingua. I contenuti scritti dai membri restano nella lingua in cui sono stati scritti.",
"Protezione del personale e dei processi portuali dall'infiltrazione e dalla corruzione: verifiche dei precedenti e controlli di sicurezza, rischio interno, controllo dell'accesso ai container e ai sistemi e sostegno ai lavoratori minacciati.",
"Salva lingua",
"Scansione, rilevamento, analisi dei dati e processi digitali sicuri che rendono i poli logistici e il trasporto marittimo resilienti all'uso improprio a fini criminali, dai progetti pilota agli appalti.",
"Lingua del browser (e-mail in inglese)",
"non è chiaro se il punto separi le migliaia o i decimali: scriva 1234 o 1,234",
])
