"""A workflow drafted from a plain-English description, offline and
deterministically, and the check every draft (offline or from a model) must
pass: the same serializer and schema checks `POST /api/workflows` applies.
A draft is never saved; the customer reviews it and creates it themselves."""

import re

from levqor.workflows.serializers import WorkflowCreateSerializer
from levqor.workflows.steps import MAX_DELAY_SECONDS, MAX_STEPS
from levqor.workflows.validation import check_input_schema, check_steps

# Words in a description → the payload fields a workflow like it takes.
FIELD_HINTS: dict[str, tuple[str, dict]] = {
    "email": ("email", {"type": "string", "format": "email"}),
    "e-mail": ("email", {"type": "string", "format": "email"}),
    "name": ("name", {"type": "string", "maxLength": 200}),
    "customer": ("name", {"type": "string", "maxLength": 200}),
    "lead": ("email", {"type": "string", "format": "email"}),
    "phone": ("phone", {"type": "string", "maxLength": 40}),
    "order": ("order_id", {"type": "string", "maxLength": 100}),
    "invoice": ("invoice_id", {"type": "string", "maxLength": 100}),
    "ticket": ("message", {"type": "string", "maxLength": 5000}),
    "message": ("message", {"type": "string", "maxLength": 5000}),
    "enquiry": ("message", {"type": "string", "maxLength": 5000}),
    "inquiry": ("message", {"type": "string", "maxLength": 5000}),
    "review": ("message", {"type": "string", "maxLength": 5000}),
    "feedback": ("message", {"type": "string", "maxLength": 5000}),
    "text": ("text", {"type": "string", "maxLength": 5000}),
    "document": ("text", {"type": "string", "maxLength": 5000}),
}
LLM_HINTS = {
    "summar": "Summarise in three bullet points: {text}",
    "draft": "Draft a short, friendly reply to: {text}",
    "reply": "Draft a short, friendly reply to: {text}",
    "respond": "Draft a short, friendly reply to: {text}",
    "write": "Write a short message about: {text}",
    "classif": "Classify as sales, support or other: {text}",
    "categor": "Classify as sales, support or other: {text}",
    "triage": "Classify as sales, support or other: {text}",
    "translat": "Translate into English: {text}",
    "extract": "List the key facts in: {text}",
    "sentiment": "Say whether this is positive, neutral or negative: {text}",
}
HTTP_HINTS = ("webhook", "crm", "slack", "hubspot", "salesforce", "notify", "post to", "send to", "api", "sheet")
_URL = re.compile(r"https?://[^\s\"'<>]{1,400}")
_WAIT = re.compile(r"\b(?:wait|delay|pause)\w*\s+(?:for\s+)?(\d{1,4})\s*(?:s|sec|secs|seconds?)\b", re.I)


def _fields(text: str) -> dict[str, dict]:
    found: dict[str, dict] = {}
    for hint, (field, schema) in FIELD_HINTS.items():
        if re.search(rf"\b{re.escape(hint)}", text) and field not in found:
            found[field] = schema
    return found or {"text": {"type": "string", "maxLength": 5000}}


def _name(description: str) -> str:
    words = re.findall(r"[A-Za-z0-9][A-Za-z0-9'-]*", description)[:6]
    title = " ".join(words).strip() or "Draft workflow"
    return title[0].upper() + title[1:]


def draft_from_description(description: str, *, name: str = "") -> dict:
    """A workflow body for POST /api/workflows, built from the description's
    words: the payload fields it mentions, a check that they arrived, a model
    step for anything it asks to write or sort, a call for anything it sends
    on, and a wait if it asks for one."""
    text = description.lower()
    fields = _fields(text)
    subject = next(iter(fields))
    steps: list[dict] = [{"type": "require", "name": "check_input", "fields": list(fields)}]
    set_values = {name_: f"{{{{{name_}}}}}" for name_ in fields}
    steps.append({"type": "transform", "name": "prepare", "set": set_values})
    for hint, prompt in LLM_HINTS.items():
        if hint in text:
            steps.append(
                {"type": "llm_mock", "name": "ai_step", "prompt": prompt.format(text=f"{{{{prepare.{subject}}}}}")}
            )
            break
    wait = _WAIT.search(description)
    if wait:
        steps.append({"type": "delay", "name": "wait", "seconds": min(int(wait[1]), MAX_DELAY_SECONDS)})
    url = _URL.search(description)
    if url or any(hint in text for hint in HTTP_HINTS):
        target = url[0].rstrip(".,;)") if url else "https://example.com/webhook"
        steps.append({"type": "http_mock", "name": "send_on", "url": target[:500], "method": "POST"})
    draft = {
        "name": (name or _name(description))[:200],
        "description": description[:2000],
        "input_schema": {"type": "object", "required": list(fields), "properties": fields},
        "steps": steps[:MAX_STEPS],
    }
    return draft


def draft_errors(draft) -> dict[str, list[str]]:
    """Every reason POST /api/workflows would refuse this draft ({} if none):
    the request serializer first, then the step and input-schema checks."""
    serializer = WorkflowCreateSerializer(data=draft)
    if not serializer.is_valid():
        return {
            key: [str(m) for m in (value if isinstance(value, list) else [value])]
            for key, value in serializer.errors.items()
        }
    data = serializer.validated_data
    errors = {**check_input_schema(data["input_schema"]), **check_steps(data["steps"])}
    names = [step.get("name") for step in data["steps"]]
    if len(names) != len(set(names)):
        errors.setdefault("steps", []).append("Step names must be unique.")
    return errors
