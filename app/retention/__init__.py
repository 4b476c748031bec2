"""Retention: how long each kind of post, sent mail and read notification is kept, and the purge."""
