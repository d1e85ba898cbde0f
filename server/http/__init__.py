"""The Starlette application: operator endpoints, the admin API, the bot API, and the one
map from Switchboard's exceptions to HTTP statuses.

May import: everything below, through ``bootstrap``."""
