from common import apply
apply("de", [
"Sprache ändern",
"Wählen Sie eine der Amtssprachen der EU aus der Liste aus.",
"Umsetzung des EU-Fahrplans zur Bekämpfung des Drogenhandels und der organisierten Kriminalität in Häfen: Rechtsvorschriften, Normen, Leitlinien und Weiterverfolgung der Verpflichtungen der Allianz.",
"Zusammenarbeit von Hafenbehörden, Terminalbetreibern, Reedereien, Zoll und Polizei gegen Rip-on/Rip-off, den Missbrauch von Containern und Extraktionsteams: Risikoindikatoren, gemeinsame Kontrollen, Informationsflüsse zwischen der Hafengemeinschaft und den Strafverfolgungsbehörden.",
"Sprache",
"PAX zeigt Ihre Seiten und E-Mails nun in dieser Sprache an.",
"Die Seiten und die E-Mails, die PAX Ihnen sendet, sind in dieser Sprache verfasst. Beiträge der Mitglieder bleiben in der Sprache, in der sie verfasst wurden.",
"Schutz des Hafenpersonals und der Hafenprozesse vor Unterwanderung und Korruption: Zuverlässigkeits- und Sicherheitsüberprüfungen, Insider-Risiken, Zugangskontrolle zu Containern und Systemen sowie Unterstützung bedrohter Beschäftigter.",
"Sprache speichern",
"Scannen, Aufspüren, Datenanalyse und sichere digitale Prozesse, die Logistikknotenpunkte und die Schifffahrt gegen kriminellen Missbrauch widerstandsfähig machen – von Pilotprojekten bis zur Beschaffung.",
"Sprache des Browsers (E-Mails auf Englisch)",
"es ist unklar, ob der Punkt Tausender oder Dezimalstellen trennt: Schreiben Sie 1234 oder 1,234",
])
