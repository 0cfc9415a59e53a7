"""The outbound-only agent tunnel: agents dial out to a hub over WSS; workers reach them through the hub's relay."""
