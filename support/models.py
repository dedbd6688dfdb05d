"""Support models: filled in by the support issue."""
