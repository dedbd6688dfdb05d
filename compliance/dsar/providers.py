"""The privacy provider registry: how compliance reaches every app's
personal data without importing the apps.

Each app describes, in a small `privacy.py`, what it holds about a person:

    provider = privacy.Provider(
        name="workflows",
        files={"runs.json": privacy.ExportFile("Every run ...", rows=runs_rows)},
        erase=erase_user,                       # (user=, actor=) -> dict summary
        retention={"run_logs": prune_run_logs},  # kind -> (cutoff=, dry_run=) -> int
        address_files={"status.json": privacy.ExportFile("...", rows=rows_for_address)},  # rows(email=)
        erase_address=erase_address,             # (email=, actor=) -> dict summary
        covers=("workflows.Run", ...),           # models the export and erase reach
        prunes={"run_logs": ("workflows.RunLog",)},  # models each retention kind ages out
    )

`address_files` and `erase_address` answer a person who has no account
(a marketing contact, a status subscriber, a former customer) by the email
address they proved they own at /privacy/request: see privacy_requests.py.

and is listed in `settings.LEVQOR_PRIVACY_PROVIDERS` (dotted paths, loaded
lazily on first use, so compliance imports nothing of ours at start-up).
Compliance's own provider (compliance/dsar/privacy.py) is listed there too,
first: this registry imports no provider, so it never imports the export
service that uses it. An app may instead call `register(provider)` from its
`AppConfig.ready()`.
"""

import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from django.conf import settings
from django.utils.module_loading import import_string

Rows = Callable[..., Iterable[dict]]  # rows(user=) or, for address files, rows(email=): JSON-able dicts, streamed
Eraser = Callable[..., dict]  # erase(user=, actor=) or erase_address(email=, actor=) -> {"what": count, ...}
Pruner = Callable[..., int]  # prune(cutoff=, dry_run=) -> rows that go (or went)


class ProcessorStepFailed(Exception):
    """A provider's erasure could not finish a step at an outside processor
    (Stripe refused or was unreachable). `steps` are the step outcomes so
    far (dicts: processor, step, status, detail), kept on the failed request;
    every step must be safe to repeat, as a retry starts again."""

    def __init__(self, message: str, *, steps: list[dict]):
        super().__init__(message)
        self.steps = list(steps)


@dataclass(frozen=True)
class ExportFile:
    description: str  # one line for README.txt: what the file holds
    rows: Rows


@dataclass(frozen=True)
class Processing:
    """One processing activity, for the records of processing (GDPR art. 30)."""

    activity: str  # what is done, e.g. "Recovering failed payments (dunning)"
    subjects: str  # whose data: "Customers' account users"
    data: str  # which personal data
    purpose: str
    legal_basis: str  # e.g. "Contract (art. 6(1)(b))"
    retention: str = ""  # in words, when no retention kind governs it
    retention_kind: str = ""  # a key of settings.LEVQOR_RETENTION_DAYS
    recipients: tuple[str, ...] = ()  # processors (by their PROCESSORS name) and others who receive it


@dataclass(frozen=True)
class Provider:
    name: str
    files: dict[str, ExportFile] = field(default_factory=dict)
    erase: Eraser | None = None
    retention: dict[str, Pruner] = field(default_factory=dict)
    processing: tuple[Processing, ...] = ()
    address_files: dict[str, ExportFile] = field(default_factory=dict)  # rows(email=): by address alone
    erase_address: Eraser | None = None  # erase_address(email=, actor=): what the address alone holds
    # Coverage, checked by tests/integration/dsar/test_coverage.py: the models
    # ("app_label.ModelName") whose personal data this provider's export and
    # erase reach, and for each retention kind the models its pruner ages out.
    covers: tuple[str, ...] = ()
    prunes: dict[str, tuple[str, ...]] = field(default_factory=dict)


_registered: dict[str, Provider] = {}
_configured: list[str] = []  # provider names in LEVQOR_PRIVACY_PROVIDERS order, once loaded
_loaded = False
_loading = threading.Lock()  # threaded web workers: two first requests at once load once


def register(provider: Provider) -> None:
    """Register (or replace, by name) a provider."""
    _registered[provider.name] = provider


def unregister(name: str) -> None:
    _registered.pop(name, None)


def _load_configured() -> None:
    global _loaded
    if _loaded:
        return
    with _loading:
        if _loaded:
            return
        for path in getattr(settings, "LEVQOR_PRIVACY_PROVIDERS", []):
            provider = import_string(path)
            _registered.setdefault(provider.name, provider)
            if provider.name not in _configured:  # a load that failed half-way is retried
                _configured.append(provider.name)
        _loaded = True


def all_providers() -> list[Provider]:
    """Every provider: the configured ones in their settings order
    (compliance's own first, accounts last), then any registered only by call."""
    _load_configured()
    rank = {name: i for i, name in enumerate(_configured)}
    return sorted(_registered.values(), key=lambda p: rank.get(p.name, len(rank)))


def export_files() -> dict[str, ExportFile]:
    files: dict[str, ExportFile] = {}
    for provider in all_providers():
        files.update(provider.files)
    return files


def address_export_files() -> dict[str, ExportFile]:
    """The files of an export for an email address without an account."""
    files: dict[str, ExportFile] = {}
    for provider in all_providers():
        files.update(provider.address_files)
    return files


def address_erasers() -> list[tuple[str, Eraser]]:
    return [(p.name, p.erase_address) for p in all_providers() if p.erase_address is not None]


def retention_handlers() -> dict[str, list[tuple[str, Pruner]]]:
    handlers: dict[str, list[tuple[str, Pruner]]] = {}
    for provider in all_providers():
        for kind, pruner in provider.retention.items():
            handlers.setdefault(kind, []).append((provider.name, pruner))
    return handlers


def erasers() -> list[tuple[str, Eraser]]:
    return [(p.name, p.erase) for p in all_providers() if p.erase is not None]


def audit_history(*objs) -> list[dict]:
    """The audit entries about these records, for an address export: what
    was done and when, with staff named by role only."""
    if not objs:
        return []
    from .. import audit  # imports models: the registry itself stays import-free at start-up

    return [
        {
            "occurred_at": event.occurred_at,
            "action": event.action,
            "by": "system" if event.actor_id is None else "Levqor staff",
            "target": f"{event.target_type}:{event.target_id}",
            "details": {} if event.details_erased_at else event.details,
        }
        for event in audit.entries_for(*objs)
    ]
