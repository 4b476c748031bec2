"""Security scans and API conformance checks run by ``make audit`` (see README, Security scans)."""
