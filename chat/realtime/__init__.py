"""Live chat over websockets: one module per wire protocol, sharing the session, subscription and fan-out logic."""
