"""The public landing page and the signed-in dashboard."""
