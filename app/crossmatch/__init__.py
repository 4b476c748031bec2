"""Pseudonymised cross-match of incident notes: keyed hashes of container and IMO numbers."""
