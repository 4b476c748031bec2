"""Access rules of the seizure statistics routes, merged into ``tests/test_access_matrix.ACCESS``.

Every active account sees the statistics (what they count is the policy's business); without
parameters they group by port, so the bare URLs answer.
"""

STATS_ACCESS: dict[str, str] = {
    "stats.seizures": "signed_in",
    "stats.seizures_csv": "signed_in",
    "api.stats_seizures": "token",
}
