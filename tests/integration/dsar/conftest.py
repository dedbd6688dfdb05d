"""Fixtures for the data-request tests."""

import pytest


@pytest.fixture(autouse=True)
def isolated_media(settings, tmp_path):
    """Each test's export files in its own folder."""
    settings.MEDIA_ROOT = str(tmp_path / "media")
