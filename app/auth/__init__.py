"""Who the user is: local login, SSO (OIDC), MFA, sessions, password resets, invitations and API tokens."""
