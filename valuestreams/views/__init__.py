"""The pages of the valuestreams app, included under /streams/ by esm.urls (by name)."""
