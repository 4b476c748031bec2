"""Access rules of the workplan routes, merged into ``tests/test_access_matrix.ACCESS``."""

WORKPLAN_ACCESS: dict[str, str] = {}
