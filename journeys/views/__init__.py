"""The pages of the journeys app, included under /journeys/ by esm.urls (by name)."""
