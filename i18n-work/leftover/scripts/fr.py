from common import apply
apply("fr", [
"Changer de langue",
"Veuillez choisir l'une des langues officielles de l'UE dans la liste.",
"Mise en œuvre de la feuille de route de l'UE pour la lutte contre le trafic de drogue et la criminalité organisée dans les ports : législation, normes, orientations et suivi des engagements de l'Alliance.",
"Travail conjoint des autorités portuaires, des exploitants de terminal, des compagnies maritimes, des douanes et de la police contre la méthode rip-on/rip-off, l'utilisation abusive des conteneurs et les équipes d'extraction : indicateurs de risque, contrôles conjoints, flux d'informations entre la communauté portuaire et les services répressifs.",
"Langue",
"PAX affiche désormais vos pages et vous envoie ses courriels dans cette langue.",
"Les pages et les courriels que PAX vous envoie sont rédigés dans cette langue. Les contenus rédigés par les membres restent dans la langue dans laquelle ils ont été rédigés.",
"Protection du personnel et des processus portuaires contre l'infiltration et la corruption : enquêtes administratives et contrôles de sécurité, risque interne, contrôle de l'accès aux conteneurs et aux systèmes, et soutien aux travailleurs menacés.",
"Enregistrer la langue",
"Scanners, détection, analyse de données et processus numériques sécurisés qui rendent les plateformes logistiques et le transport maritime résilients face à l'utilisation abusive à des fins criminelles, des projets pilotes jusqu'aux marchés publics.",
"Langue du navigateur (courriels en anglais)",
"il n'est pas clair si le point sépare les milliers ou les décimales : écrivez 1234 ou 1,234",
])
