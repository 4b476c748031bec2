from common import apply
apply("pl", [
"Zmień język",
"Należy wybrać z listy jeden z języków urzędowych UE.",
"Wdrażanie Planu działania UE na rzecz zwalczania handlu narkotykami i przestępczości zorganizowanej w portach: prawodawstwo, normy, wytyczne i działania następcze w związku ze zobowiązaniami Sojuszu.",
"Wspólne działania zarządów portów, operatorów terminali, armatorów liniowych, organów celnych i policji przeciwko metodzie rip-on/rip-off, niewłaściwemu wykorzystywaniu kontenerów i zespołom ekstrakcyjnym: wskaźniki ryzyka, wspólne kontrole, przepływ informacji między społecznością portową a organami ścigania.",
"Język",
"PAX wyświetla teraz strony i wysyła wiadomości e-mail w tym języku.",
"Strony i wiadomości e-mail wysyłane przez PAX są redagowane w tym języku. Treści pisane przez członków pozostają w języku, w którym zostały napisane.",
"Ochrona personelu i procesów portowych przed infiltracją i korupcją: weryfikacja i kontrola bezpieczeństwa, ryzyko wewnętrzne, kontrola dostępu do kontenerów i systemów oraz wsparcie dla pracowników, którym się grozi.",
"Zapisz język",
"Skanowanie, wykrywanie, analiza danych i bezpieczne procesy cyfrowe, które zwiększają odporność węzłów logistycznych i żeglugi na wykorzystywanie do celów przestępczych – od projektów pilotażowych po zamówienia publiczne.",
"Język przeglądarki (wiadomości e-mail w języku angielskim)",
"nie wiadomo, czy kropka oddziela tysiące, czy miejsca dziesiętne: należy wpisać 1234 lub 1,234",
])
