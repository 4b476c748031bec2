"""Writing the audit log: ``services.record`` and the hash chain (``chain``) every feature calls.

It imports no feature; reading the log (pages, queries, export) is ``app.audit_log``."""
