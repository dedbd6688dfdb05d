import pytest

from levqor.api.models import ApiKey
from levqor.api.testing import ApiCaller, issue_key


@pytest.fixture
def sandbox_key(customer_account):
    return issue_key(customer_account, mode=ApiKey.Mode.TEST, name="Sandbox")


@pytest.fixture
def live_key(customer_account):
    return issue_key(customer_account, mode=ApiKey.Mode.LIVE, name="Live")


@pytest.fixture
def other_key(other_customer):
    return issue_key(other_customer.account, mode=ApiKey.Mode.TEST, name="Other sandbox")


@pytest.fixture
def api(client, sandbox_key):
    return ApiCaller(client, sandbox_key.secret)


@pytest.fixture
def live_api(client, live_key):
    return ApiCaller(client, live_key.secret)


@pytest.fixture
def other_api(client, other_key):
    return ApiCaller(client, other_key.secret)


SIGNUP_SCHEMA = {
    "type": "object",
    "required": ["email"],
    "properties": {"email": {"type": "string", "format": "email"}, "name": {"type": "string", "maxLength": 50}},
    "additionalProperties": False,
}
SIGNUP_STEPS = [
    {"type": "require", "name": "check", "fields": ["email"]},
    {"type": "transform", "name": "greet", "set": {"subject": "Welcome {{name}} <{{email}}>"}},
    {"type": "llm_mock", "name": "draft", "prompt": "Write a welcome note for {{name}}"},
    {"type": "http_mock", "name": "send", "url": "https://mail.example.com/send"},
]


@pytest.fixture
def workflow_body():
    return {"name": "Signup welcome", "input_schema": SIGNUP_SCHEMA, "steps": SIGNUP_STEPS}


def make_workflow(account, *, sandbox: bool, name: str = "Signup welcome", steps=None, input_schema=None):
    from levqor.workflows import services

    return services.workflow_create(
        account=account,
        sandbox=sandbox,
        name=name,
        steps=steps or SIGNUP_STEPS,
        input_schema=SIGNUP_SCHEMA if input_schema is None else input_schema,
        actor=None,
    )


@pytest.fixture
def sandbox_workflow(customer_account):
    return make_workflow(customer_account, sandbox=True)


@pytest.fixture
def live_workflow(customer_account):
    return make_workflow(customer_account, sandbox=False)
