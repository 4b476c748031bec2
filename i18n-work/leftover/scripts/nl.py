from common import apply
apply("nl", [
"Taal wijzigen",
"Kies een van de officiële talen van de EU uit de lijst.",
"Uitvoering van het EU-stappenplan voor de bestrijding van drugshandel en georganiseerde criminaliteit in havens: wetgeving, normen, richtsnoeren en de follow-up van de toezeggingen van de Alliantie.",
"Samenwerking tussen havenautoriteiten, terminalexploitanten, rederijen, douane en politie tegen rip-on/rip-off, misbruik van containers en uithaalploegen: risico-indicatoren, gezamenlijke controles, informatiestromen tussen de havengemeenschap en de rechtshandhavingsinstanties.",
"Taal",
"PAX toont uw pagina's en stuurt u e-mails voortaan in deze taal.",
"Pagina's en de e-mails die PAX u stuurt, zijn in deze taal opgesteld. Wat leden schrijven, blijft in de taal waarin zij het hebben geschreven.",
"Bescherming van havenpersoneel en -processen tegen infiltratie en corruptie: antecedentenonderzoek en screening, insiderrisico, toegangscontrole tot containers en systemen, en steun voor bedreigde werknemers.",
"Taal opslaan",
"Scannen, detectie, data-analyse en beveiligde digitale processen die logistieke knooppunten en de scheepvaart weerbaar maken tegen crimineel misbruik, van proefprojecten tot aanbestedingen.",
"Taal van de browser (e-mail in het Engels)",
"het is niet duidelijk of de punt duizendtallen of decimalen scheidt: schrijf 1234 of 1,234",
])
