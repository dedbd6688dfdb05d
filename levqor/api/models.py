"""API keys and usage (filled in by the API issue)."""
