"""The audit trail: the event log as auditors read, export, verify and replay it."""
