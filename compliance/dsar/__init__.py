"""Data subject requests: DSAR exports, erasure and retention, and the
provider registry through which they reach every app's personal data. Its
models belong to the `compliance` app (compliance/models.py imports them)."""
