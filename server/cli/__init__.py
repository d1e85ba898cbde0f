"""The ``switchboard`` command line, one module per command group. Nothing imports it.

May import: everything."""
