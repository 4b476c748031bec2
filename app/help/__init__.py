"""Help pages: what markings mean, signing in, posting, meeting packs and whom to contact."""
