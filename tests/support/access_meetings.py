"""Access rules of the meetings routes, merged into ``tests/test_access_matrix.ACCESS``."""

MEETINGS_ACCESS: dict[str, str] = {}
