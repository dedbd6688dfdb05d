"""The floor: helpers every app needs that know no business and import nothing of ours (docs/architecture.md)."""
