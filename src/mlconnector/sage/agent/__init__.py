"""The agent: Sage gateway operations as signed JSON over HTTPS, and the connector-side client."""
