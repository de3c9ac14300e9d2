"""Device backends, imported on first use (never by ``import fastinit``)."""
