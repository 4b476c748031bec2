"""Access rules of the personal data routes, merged into ``tests/test_access_matrix.ACCESS``.

The export is every active member's own; erasure is for administrators, on another account
(the matrix's sample account is a colleague, never the administrator itself).
"""

PRIVACY_ACCESS: dict[str, str] = {
    "account.data_export": "signed_in",
    "admin.erase": "admin",
}
