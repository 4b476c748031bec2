"""The four PPP clusters, their memberships, and the posts, comments and attachments shared in them."""
