"""Access rules of the packs routes, merged into ``tests/test_access_matrix.ACCESS``."""

PACKS_ACCESS: dict[str, str] = {}
