"""The member systems' JSON API under /api/v1 (README, "API")."""
