"""Workflow, Run, RunLog: the product data customers own (filled in by the API issue)."""
