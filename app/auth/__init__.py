"""Who the user is: local login, sessions, and (later) SSO, MFA and tokens."""
