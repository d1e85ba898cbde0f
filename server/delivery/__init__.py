"""Getting messages out: the outbox that delivers at least once from any node, and the
retry loop for remote APIs that cannot be reached.

May import: the kernel, ``store``, ``live``, ``channels.base``."""
