"""A small DRF kit every API uses: the one error format, strict input, negotiation, pagination, parsing."""
