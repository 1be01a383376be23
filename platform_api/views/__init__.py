"""One module per resource of the Platform API; each view parses, calls one action or selector, and renders."""
