"""Access rules of the notification routes, merged into ``tests/test_access_matrix.ACCESS``.

Every page is the signed-in member's own. An empty "mark as read" (no notification named) is
refused for its content (400), never for who sent it; following names the sample cluster.
"""

NOTIFICATIONS_ACCESS: dict[str, str] = {
    "notifications.index": "signed_in",
    "notifications.settings": "signed_in",
    "notifications.mark_read": "signed_in",
    "notifications.mark_all_read": "signed_in",
    "notifications.follow": "signed_in",
}
