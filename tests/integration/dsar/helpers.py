"""Helpers for the data-request tests: product data for a person, and
reading an export."""

import hashlib
import io
import json
import re
import zipfile

from django.core.files.storage import default_storage
from django.db import connection
from django.utils import timezone

from compliance.dsar import exports
from compliance.dsar.models import DataExport
from levqor.workflows.models import Run, RunLog, Workflow


def make_product_data(user, *, tag: str, logs: int = 3) -> Run:
    """A workflow, one run with a payload and `logs` log lines, all mentioning `tag`."""
    workflow = Workflow.objects.create(
        account=user.account,
        name=f"{tag} workflow",
        description=f"{tag} description",
        steps=[{"type": "transform", "name": "echo", "set": {"out": tag}}],
    )
    run = Run.objects.create(
        workflow=workflow,
        account=user.account,
        status=Run.Status.SUCCEEDED,
        payload={"customer": f"{tag} payload"},
        output={"steps": {"echo": tag}},
        started_by=user.email,
    )
    data = {"secret": f"{tag}-internal-data"}
    if logs <= 1000:
        RunLog.objects.bulk_create(
            [RunLog(run=run, seq=i + 1, message=f"{tag} log line {i + 1}", data=data) for i in range(logs)],
            batch_size=5000,
        )
        return run
    # Many lines (the bounded-memory export): one executemany of plain
    # tuples. The same rows as bulk_create would write, without building tens
    # of thousands of model instances and hundreds of statements.
    fields = {name: RunLog._meta.get_field(name) for name in ("at", "level", "step", "data")}
    same = [
        fields["at"].get_db_prep_save(timezone.now(), connection),
        fields["level"].get_db_prep_save(RunLog.Level.INFO, connection),
        fields["step"].get_db_prep_save("", connection),
        fields["data"].get_db_prep_save(data, connection),
    ]
    run_id = RunLog._meta.get_field("run").get_db_prep_save(run.pk, connection)
    columns = ", ".join(
        connection.ops.quote_name(c) for c in ("run_id", "seq", "message", "at", "level", "step", "data")
    )
    table = connection.ops.quote_name(RunLog._meta.db_table)
    with connection.cursor() as cursor:
        cursor.executemany(
            f"INSERT INTO {table} ({columns}) VALUES (%s, %s, %s, %s, %s, %s, %s)",  # noqa: S608 - our own names
            [(run_id, i + 1, f"{tag} log line {i + 1}", *same) for i in range(logs)],
        )
    return run


def request_and_build(user, *, capture, actor=None) -> DataExport:
    """Request an export as `user` and run the (sync) build after commit."""
    with capture(execute=True):
        export = exports.export_request(user=user, via="web", actor=actor or user)
    export.refresh_from_db()
    return export


def open_zip(export: DataExport) -> zipfile.ZipFile:
    with default_storage.open(export.file_name, "rb") as handle:
        return zipfile.ZipFile(io.BytesIO(handle.read()))


def rows(archive: zipfile.ZipFile, name: str) -> list:
    return json.loads(archive.read(name))


def verify_manifest(archive: zipfile.ZipFile) -> dict:
    """Every listed file's SHA-256, size and row count match; returns the manifest."""
    manifest = json.loads(archive.read("manifest.json"))
    for name, meta in manifest["files"].items():
        digest, size = hashlib.sha256(), 0
        with archive.open(name) as member:
            for block in iter(lambda member=member: member.read(65536), b""):
                digest.update(block)
                size += len(block)
        assert digest.hexdigest() == meta["sha256"], name
        assert size == meta["bytes"], name
        if meta["rows"] is not None:
            assert meta["rows"] == len(json.loads(archive.read(name))), name
    return manifest


def link_path(message) -> str:
    match = re.search(r"http://testserver(/data-requests/download/[^\s\"<]+)", message.body)
    assert match, message.body
    return match.group(1)
