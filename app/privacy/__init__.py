"""Personal data: a member's export of what PAX holds about them, and an administrator's erasure."""
