"""Bolt listeners, one module per surface, each with a register(app, services)."""
