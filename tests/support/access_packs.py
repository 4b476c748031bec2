"""Access rules of the packs routes, merged into ``tests/test_access_matrix.ACCESS``.

The sample meeting is GREEN with one GREEN document, so every active account gets a pack.
"""

PACKS_ACCESS: dict[str, str] = {
    "packs.download": "signed_in",
    "api.meeting_pack": "token",
    "api.pack_key": "public",
}
