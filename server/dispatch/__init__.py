"""The priority router's I/O and the periodic sweeps (SLA timers, presence): they ask
the pure ``routing`` package to decide and then write the decision.

May import: the kernel, ``store``, ``live``, ``routing``."""
