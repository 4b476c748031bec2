"""Drafts and kept forms: what a member has written but not yet sent never gets lost.

A *draft* is saved by the member (the "Save draft" button, or every few seconds by
``static/js/pax.js`` while they type) on the forms that carry content: posts, comments, meeting
minutes and workplan items. A *kept form* is what a browser posted after its session ended or its
form's CSRF token aged: its fields are kept, bound to that browser and to the account that wrote
them, and put back into the same form once the member signs in again.

Both are content: sealed under the keyring's active key (``app.keys.sealed``, re-sealed by key
rotation), seen by their author only, and deleted after ``PAX_DRAFT_RETENTION_DAYS``.
"""
