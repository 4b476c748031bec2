"""The HTML cache: rendered fragments kept per process (``fragments``) in bounded LRU maps (``lru``)."""
