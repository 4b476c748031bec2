"""Administration: organisations, accounts, cluster memberships, identity providers, approvals.

Administrators administer; they do not read content. These pages show accounts and
organisations only, and every view asks ``app.policy`` before it reads or writes.
"""
