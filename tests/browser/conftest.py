"""Browser tests use the `browser`, `page` and `js_page` fixtures of the root conftest."""
