"""Alerts: the engine that raises and resolves them, and the delivery that tells people."""
