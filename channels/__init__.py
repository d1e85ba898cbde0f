"""Channel adapters: each translates its native messages to and from ``channels.base`` values."""
