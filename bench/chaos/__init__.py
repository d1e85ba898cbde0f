"""Faults injected into a Switchboard cluster while traffic flows, and every message counted.

``cluster`` starts and controls the cluster (nodes, proxy, Postgres, Redis); ``traffic`` drives
customers, agents and mail through the proxy and counts each message; ``scenarios`` are the
faults; ``python -m bench.chaos`` runs them all and prints the table (issue 21).
"""
