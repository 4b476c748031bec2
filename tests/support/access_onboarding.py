"""Access rules of password reset, invitations and step-up, merged into ``tests/test_access_matrix.ACCESS``.

The mailed-link pages are open to anyone (what they allow is decided by the link's secret); the
invitations page is for administrators and focal points (their own organisation's invitations);
an administrator sends another account a reset link; the step-up page is every member's own.
"""

ONBOARDING_ACCESS: dict[str, str] = {
    "onboarding.forgot_password": "guest",
    "onboarding.reset_password": "guest",
    "onboarding.accept_invitation": "guest",
    "account.confirm": "signed_in",
    "account.sign_in_again": "signed_in",
    "admin.send_password_reset": "admin",
    "admin.invitations": "approver",
    "admin.resend_invitation": "approver",
    "admin.revoke_invitation": "approver",
}
