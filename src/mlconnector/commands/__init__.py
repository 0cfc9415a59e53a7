"""Typer commands for running and looking after the connector (kept thin: parse, call, print)."""
