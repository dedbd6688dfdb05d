"""`migrate`, with dj-stripe's schema made in one step on a new SQLite database.

dj-stripe's second migration removes some 500 fields, most of them foreign
keys, and Django re-renders dj-stripe's whole model graph after each one:
about 85% of a first `migrate` (two of its two and a half minutes on the
development machine). dj-stripe's migrations hold schema operations only (no
RunPython, no RunSQL), so on a database where none of them has run, the
tables they would leave are made directly from the state at the end of
them (the same state Django's migration loader computes, rendered once), and
the migrations are recorded as applied. Everything else migrates as usual.

Only on SQLite, the embedded default that `make run` starts from: a
PostgreSQL database always runs dj-stripe's migrations one by one, as
`.ci/run` does on an empty database. `LEVQOR_MIGRATE_DJSTRIPE_AT_ONCE=0`
turns the shortcut off; `.ci/run` builds a database both ways and compares
their schemas (`scripts/schema_compare.py`).
"""

import os
import time

from django.core.management.commands.migrate import Command as DjangoMigrateCommand
from django.db import connections
from django.db.migrations.executor import MigrationExecutor
from django.db.migrations.recorder import MigrationRecorder

APP = "djstripe"


def at_once_enabled(connection) -> bool:
    return connection.vendor == "sqlite" and os.environ.get("LEVQOR_MIGRATE_DJSTRIPE_AT_ONCE", "1") != "0"


class Command(DjangoMigrateCommand):
    help = DjangoMigrateCommand.help + " (Levqor: dj-stripe's tables in one step on a new SQLite database.)"

    def handle(self, *args, **options):
        connection = connections[options["database"]]
        if not options.get("app_label") and not options.get("plan") and at_once_enabled(connection):
            self._djstripe_at_once(connection, options)
        return super().handle(*args, **options)

    def _djstripe_at_once(self, connection, options) -> None:
        executor = MigrationExecutor(connection)
        graph = executor.loader.graph
        ours = [node for node in graph.nodes if node[0] == APP]
        if not ours:
            return
        applied = executor.loader.applied_migrations
        if any(node in applied for node in ours):
            return
        leaves = graph.leaf_nodes(APP)
        # First what dj-stripe's migrations depend on (the subscriber model's app, ...).
        needed = {
            parent
            for node in ours
            for parent in graph.node_map[node].parents
            if parent.key[0] != APP and parent.key not in applied
        }
        started = time.monotonic()
        if needed:
            plan = executor.migration_plan([parent.key for parent in needed])
            executor.migrate([parent.key for parent in needed], plan=plan)
        # The state at the end of dj-stripe's migrations, rendered once.
        state = executor.loader.project_state(leaves, at_end=True)
        models = list(state.apps.get_app_config(APP).get_models())
        with connection.schema_editor(atomic=True) as editor:
            for model in models:
                editor.create_model(model)
            recorder = MigrationRecorder(connection)
            for node in sorted(ours):
                recorder.record_applied(*node)
        if options["verbosity"] >= 1:
            self.stdout.write(
                f"  dj-stripe: {len(models)} tables made from the end state of its {len(ours)} migrations "
                f"({time.monotonic() - started:.1f}s)"
            )
