"""The one path every message takes: ingest (dedupe, contact, conversation, persist),
understand and decide (NLU, then ``routing``), replies (bot and agent), and the bot itself.

May import: the kernel, ``store``, ``live``, ``dispatch``, ``channels.base``, ``nlu``,
``routing``."""
