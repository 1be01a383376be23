"""The chat domain: tenants, users, channels, messages, threads, sessions and notifications."""
