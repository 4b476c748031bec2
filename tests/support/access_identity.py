"""Access rules of provider testing, identity links and the organisation's sign-in page, merged into
``tests/test_access_matrix.ACCESS``.

focal_point: the sample organisation's focal point only (administrators cannot take these
decisions alone); link_owner: only the account a link request belongs to, through its secret
address (the sample address is no one's, so every signed-in role gets 404).
"""

IDENTITY_ACCESS: dict[str, str] = {
    "admin.test_provider": "admin",
    "admin.provider_status": "admin",
    "admin.sign_in_settings": "focal_point",
    "admin.confirm_mfa_exemption_route": "focal_point",
    "admin.approve_link": "focal_point",
    "admin.reject_link": "focal_point",
    "identity_links.confirm": "link_owner",
}
