"""Administration: organisations, accounts, cluster memberships, identity providers, approvals."""
