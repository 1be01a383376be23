"""The HTTP doors: the ChatKitty-compatible Platform API under /v1 and its OAuth2 token endpoint."""
