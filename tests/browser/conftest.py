"""Browser tests use the `browser`, `page` and `js_page` fixtures of the root conftest."""

import pytest


@pytest.fixture
def terms_published(db):
    """The full terms document published, so /terms shows it as it is served."""
    from compliance import terms

    return terms.terms_first_ensure(actor=None)
