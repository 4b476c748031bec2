"""Meetings of the PPP: technical cluster meetings, Senior Officials' and ministerial meetings,
their agendas, minutes and documents, and the signed meeting packs members download."""
