"""Records of processing (GDPR art. 30): generated from the providers, the
retention settings and the processors table, as a command and an admin page."""

import csv
import io

import pytest
from django.core.management import call_command
from django.test import Client

from compliance.dsar import processing, providers

pytestmark = pytest.mark.django_db


def test_every_provider_that_holds_personal_data_declares_its_processing():
    for provider in providers.all_providers():
        if provider.files or provider.retention:
            assert provider.processing, f"{provider.name} exports or keeps personal data but declares no processing"
    for row in processing.records():
        assert all(row[column] for column in processing.COLUMNS), row


def test_retention_comes_from_the_settings_in_force(settings):
    settings.LEVQOR_RETENTION_DAYS = {**settings.LEVQOR_RETENTION_DAYS, "email_log": 123}
    rows = {row["activity"]: row for row in processing.records()}
    assert rows["Transactional email log (the outbox)"]["retention"].startswith("123 days")


def test_the_command_prints_csv_and_markdown():
    out = io.StringIO()
    call_command("records_of_processing", "--format", "csv", stdout=out)
    rows = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert {row["activity"] for row in rows} == {row["activity"] for row in processing.records()}
    assert any("Resend" in row["transfers outside the UK"] for row in rows)

    out = io.StringIO()
    call_command("records_of_processing", stdout=out)
    text = out.getvalue()
    assert text.startswith("# Records of processing activities") and "## Processors" in text
    for processor in processing.PROCESSORS:
        assert processor.name in text


def test_staff_see_and_download_the_records_from_the_admin(staff_client):
    index = staff_client.get("/admin/").content.decode()
    assert "/admin/compliance/records-of-processing/" in index
    page = staff_client.get("/admin/compliance/records-of-processing/")
    assert page.status_code == 200 and "Audit trail" in page.content.decode()
    download = staff_client.get("/admin/compliance/records-of-processing/?format=csv")
    assert download["Content-Type"].startswith("text/csv") and b"legal basis" in download.content
    assert Client().get("/admin/compliance/records-of-processing/").status_code == 302  # staff only


def test_the_privacy_notice_lists_the_same_processors(client):
    page = client.get("/privacy").content.decode()
    for processor in processing.PROCESSORS:
        assert processor.name in page and processor.service in page
