"""Keys that live outside the database: the keyring of KEKs and purpose keys (``keyring``), small
secrets sealed under it (``sealed``), the pack-signing key (``signing``), and KEK rotation
(``rotation``), which re-seals the secrets features keep."""
