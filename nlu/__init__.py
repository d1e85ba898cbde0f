"""Natural-language understanding: Rasa over HTTP and an embedded engine (see issue 3)."""
