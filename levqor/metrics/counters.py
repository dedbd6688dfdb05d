"""Add to a database counter from any number of processes at once."""

from django.db import IntegrityError, models, transaction
from django.db.models import F


def bump(model: type[models.Model], *, by: int = 1, **key) -> None:
    """Add `by` to the `count` of the row named by `key`, creating the row if
    needed. The update is one atomic `UPDATE ... SET count = count + n`; when
    two processes both find no row, the unique constraint lets one create it
    and the other adds to it. Not idempotent: one call per event."""
    if model.objects.filter(**key).update(count=F("count") + by):
        return
    try:
        with transaction.atomic():
            model.objects.create(**key, count=by)
    except IntegrityError:  # another process created it between our update and our insert
        model.objects.filter(**key).update(count=F("count") + by)
