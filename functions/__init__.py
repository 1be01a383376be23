"""Chat functions: tenant scripts run on chat events (the chat functions issue builds this app)."""
