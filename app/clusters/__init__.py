"""The four PPP clusters, their memberships, and (later) the posts shared in them."""
