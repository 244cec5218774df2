"""One module per automated action; each registers itself with `registry.action`."""
