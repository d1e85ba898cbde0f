"""Live state shared between nodes: the event bus (in-process or Redis pub/sub) and agent
presence (which consoles are open). Nothing here is durable truth; Postgres is.

May import: the kernel and ``store``."""
