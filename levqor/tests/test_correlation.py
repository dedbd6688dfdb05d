import logging

import pytest

from levqor.lib import correlation


class Capture(logging.Handler):
    def __init__(self):
        super().__init__()
        self.addFilter(correlation.CorrelationIdFilter())
        self.ids: list[str] = []

    def emit(self, record):
        self.ids.append(record.correlation_id)


@pytest.mark.django_db
def test_django_request_log_lines_for_errors_carry_the_correlation_id(client):
    capture = Capture()
    logger = logging.getLogger("django.request")
    logger.addHandler(capture)
    try:
        response = client.get("/no-such-page", HTTP_X_REQUEST_ID="trace-abcdef12")
    finally:
        logger.removeHandler(capture)

    assert response.status_code == 404
    assert capture.ids == ["trace-abcdef12"]
    # Cleared once the response is finished: later work does not inherit it.
    assert correlation.get() == ""
