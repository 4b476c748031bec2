"""Access rules of the audit routes, merged into ``tests/test_access_matrix.ACCESS``.

The log (page, export, API) is for administrators and auditors only (``audit_viewer``); every
signed-in member has the page of who accessed their own organisation's items.
"""

AUDIT_ACCESS: dict[str, str] = {
    "audit.index": "audit_viewer",
    "audit.export_csv": "audit_viewer",
    "audit.organisation_access": "signed_in",
    "api.list_audit_events": "token_audit_viewer",
}
