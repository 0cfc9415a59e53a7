"""Watching the connector: structured logs, Prometheus metrics, and the document state changes both report."""
