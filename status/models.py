"""Status models: filled in by the status issue."""
