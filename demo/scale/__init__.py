"""`seed_scale`: a large enterprise and years of its requests, written straight to
PostgreSQL with COPY, as the actions would have written them."""
