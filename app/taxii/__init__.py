"""Machine-to-machine exchange in the standard formats: STIX 2.1 objects, served over TAXII 2.1
under /taxii2/ and downloadable from the pages (README, "STIX and TAXII")."""
