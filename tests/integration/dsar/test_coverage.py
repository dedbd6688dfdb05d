"""Every model of ours that holds personal data is reached by a DSAR provider
(export and erasure) or aged out by a retention kind, as the providers
declare (`Provider.covers`, `Provider.prunes`); every retention kind has a
period in settings, a description and a pruner. A new model with a user
foreign key, an email or IP field fails here until someone decides what
happens to it."""

import re

from django.apps import apps
from django.conf import settings
from django.db import models

from compliance.dsar import providers, retention

OUR_APPS = ("levqor.", "compliance.", "billing.", "status.", "support.")

# Fields whose name says they hold (or are derived from) a person's identifier.
PERSONAL_NAME = re.compile(
    r"(^|_)(email|emails|ip|ip_address|ip_hash|user_agent|phone|first_name|last_name|full_name|address_hash)$"
)

# Foreign keys that only name the staff member who decided or published
# something: that person is the user row (anonymised by their own erasure,
# never deleted), and the reference stays as evidence of the decision.
STAFF_ACTOR_FIELDS = {
    ("compliance.ErasureRequest", "decided_by"),
    ("compliance.TermsVersion", "published_by"),
    ("compliance.ScreeningAppeal", "decided_by"),
    ("support.SlaCreditRequest", "decided_by"),
    ("support.Ticket", "assignee"),  # the staff member working the ticket
    ("support.EvidenceFile", "uploaded_by"),  # the staff member who attached chargeback evidence
    ("status.StatusApiKey", "created_by"),  # the staff member who issued a status API key
}


def ours(model) -> bool:
    return model.__module__.startswith(OUR_APPS)


def personal_fields(model) -> list[str]:
    user_model = apps.get_model(settings.AUTH_USER_MODEL)
    found = []
    for field in model._meta.concrete_fields:
        if (model._meta.label, field.name) in STAFF_ACTOR_FIELDS:
            continue
        if isinstance(field, models.ForeignKey) and field.related_model is user_model:
            found.append(field.name)
        elif isinstance(field, models.EmailField | models.GenericIPAddressField) or PERSONAL_NAME.search(field.name):
            found.append(field.name)
    return found


def declared() -> tuple[set[str], dict[str, set[str]]]:
    covered: set[str] = set()
    pruned: dict[str, set[str]] = {}
    for provider in providers.all_providers():
        covered.update(provider.covers)
        for kind, labels in provider.prunes.items():
            pruned.setdefault(kind, set()).update(labels)
    return covered, pruned


def test_it_finds_personal_data_in_the_models_it_should():
    # The detector itself: these must be seen, or the test below proves nothing.
    assert personal_fields(apps.get_model("accounts.User"))
    assert "to" in personal_fields(apps.get_model("compliance.OutboundEmail"))
    assert "ip_address" in personal_fields(apps.get_model("compliance.TermsAcceptance"))
    assert "user" in personal_fields(apps.get_model("support.Dispute"))
    assert personal_fields(apps.get_model("status.Component")) == []


def test_it_covers_every_model_holding_personal_data():
    covered, pruned = declared()
    by_retention = set().union(*pruned.values())
    missing = {
        model._meta.label: fields
        for model in apps.get_models()
        if ours(model) and (fields := personal_fields(model))
        if model._meta.label not in covered and model._meta.label not in by_retention
    }
    assert missing == {}, (
        "These models hold personal data (fields listed) but no privacy provider declares them in "
        "`covers` (export/erase) or `prunes` (retention): add them, or explain a staff-only field in "
        f"STAFF_ACTOR_FIELDS: {missing}"
    )


def test_it_declares_only_models_that_exist():
    covered, pruned = declared()
    for label in covered.union(*pruned.values()):
        assert apps.get_model(label), label


def test_it_gives_every_retention_kind_a_period_a_description_and_a_pruner():
    _, pruned = declared()
    handlers = providers.retention_handlers()
    policy = settings.LEVQOR_RETENTION_DAYS
    assert set(policy) == set(retention.KINDS), "each kind needs a period in settings and a line in KINDS"
    for kind in policy:
        assert handlers.get(kind), f"retention kind {kind!r} has no pruner"
        assert pruned.get(kind), f"retention kind {kind!r}: declare the models it prunes in Provider.prunes"
    for provider in providers.all_providers():
        assert set(provider.prunes) <= set(provider.retention), provider.name


def test_it_lists_every_retention_kind_in_the_readme():
    readme = (settings.BASE_DIR / "README.md").read_text()
    for kind in settings.LEVQOR_RETENTION_DAYS:
        env = {"status_raw_snapshots": "LEVQOR_STATUS_RAW_RETENTION_DAYS"}.get(
            kind, f"LEVQOR_RETENTION_{kind.upper()}_DAYS"
        )
        assert f"`{env}`" in readme, f"README's configuration table lacks {env} ({kind})"
