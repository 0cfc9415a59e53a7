"""The business: what goes to Cleo and what comes back into Sage (pure cores, I/O at the edges)."""
