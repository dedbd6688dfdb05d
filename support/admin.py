"""Support admin: the triage console for this app, filled in with its models."""
