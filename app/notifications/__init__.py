"""Notifications: cluster subscriptions, the in-portal list, and mail through a transactional outbox."""
