"""Billing models: filled in by the billing issue."""
