"""The default ports, in one place, so `init`, `agent serve`, `agent install-service` and the sandbox agree.

docs/operations.md has the same table for people; tests/test_ports.py checks that every default matches it.
"""

AGENT_PORT = 8711
"""The agent on the Sage server (HTTPS, signed requests)."""

CLEO_SANDBOX_PORT = 8712
"""The Cleo sandbox (the stand-in for Cleo's API on this machine)."""

HUB_PORT = 8713
"""The hub's listener for agents (WSS, `hub serve`); put it behind 443 on a TLS-passthrough load balancer."""

HUB_RELAY_PORT = 8714
"""The hub's relay for workers (HTTPS with the worker token); private network only."""
