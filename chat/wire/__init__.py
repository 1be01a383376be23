"""The ChatKitty wire representations that every door renders (REST, STOMP, sails): the core owns them, so that the
realtime adapters never reach into the HTTP app for them."""
