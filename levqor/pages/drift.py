"""Drift of the locked facts anywhere we say them: every page and every email
template is rendered, and every price, SLA hour, done-for-you tier figure and
trial mention in it is compared with levqor.plans. A template that hard-codes
"£10 a month", "Growth … 36 h", "a 14-day free trial" or half of the trial
sentence fails the system check (levqor.E003), naming the template.

Templates are rendered with the pricing context; one that needs objects the
check cannot invent (a case, a dispute) is read as its source with the
template tags removed, so its fixed wording is still checked.
"""

import html
import re
from pathlib import Path

from django.conf import settings
from django.template import TemplateSyntaxError
from django.template.loader import render_to_string
from django.test.utils import override_settings

from levqor import plans

SKIP_DIRS = ("admin/",)  # Django admin overrides: staff screens, not customer-facing wording
EXTENSIONS = (".html", ".txt")

_TAG = re.compile(r"<[^>]+>")
_TEMPLATE_SYNTAX = re.compile(r"\{%.*?%\}|\{\{.*?\}\}|\{#.*?#\}", re.S)
_NUMBER = r"(\d[\d,]*(?:\.\d+)?)"


def template_names() -> list[str]:
    """Every template of the project's template folders, as loader names."""
    names = set()
    for folder in settings.TEMPLATES[0]["DIRS"]:
        root = Path(folder)
        for path in root.rglob("*"):
            name = path.relative_to(root).as_posix()
            if path.is_file() and name.endswith(EXTENSIONS) and not name.startswith(SKIP_DIRS):
                names.add(name)
    return sorted(names)


def _source(name: str) -> str:
    for folder in settings.TEMPLATES[0]["DIRS"]:
        path = Path(folder) / name
        if path.is_file():
            return _TEMPLATE_SYNTAX.sub(" ", path.read_text(encoding="utf-8"))
    return ""


def render_for_check(name: str, context: dict) -> str:
    """The template as a visitor or recipient reads it: rendered if it can be
    without a request, else its source with the template tags removed."""
    plain_static = {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}
    try:
        with override_settings(STORAGES={**settings.STORAGES, "staticfiles": plain_static}):
            # No request here: a placeholder form token, so forms render without a warning.
            rendered = render_to_string(name, {"csrf_token": "drift-check", **context})
    except TemplateSyntaxError:
        raise
    except Exception:  # needs objects of its own: check its fixed wording
        rendered = _source(name)
    return rendered


def visible_text(rendered: str) -> str:
    return " ".join(html.unescape(_TAG.sub(" ", rendered)).split())


def _amount(raw: str) -> float:
    return float(raw.replace(",", ""))


def _names(words) -> str:
    return "|".join(sorted({re.escape(w) for w in words}, key=len, reverse=True))


def findings(text: str) -> list[str]:
    """Every figure in `text` that contradicts a locked fact."""
    found: list[str] = []
    monthly = {p.monthly for p in plans.PLANS}
    yearly = {p.yearly for p in plans.PLANS}
    sla_hours = {p.support_sla_hours for p in plans.PLANS}
    timelines = {(t.business_days_min, t.business_days_max) for t in plans.DFY_TIERS}

    # The trial: its length, and the sentence only ever whole.
    for match in re.finditer(r"\b(\d+)[- ]days?(?: free)? trial", text, re.I):
        if int(match[1]) != plans.TRIAL_DAYS:
            found.append(f'"{match[0]}" (the trial is {plans.TRIAL_DAYS} days)')
    for match in re.finditer(r"\b(?:first|trial of) (\d+) days\b", text, re.I):
        if "trial" in text[max(0, match.start() - 80) : match.end() + 80].lower() and int(match[1]) != plans.TRIAL_DAYS:
            found.append(f'"{match[0]}" (the trial is {plans.TRIAL_DAYS} days)')
    for fragment in ("Card required", "Cancel before Day"):
        if text.count(fragment) > text.count(plans.TRIAL_TEXT):
            found.append(f'"{fragment}" outside the verbatim trial sentence "{plans.TRIAL_TEXT}"')

    # The money-back guarantee.
    for match in re.finditer(r"\b(\d+)[- ]day money[- ]back", text, re.I):
        if int(match[1]) != plans.MONEY_BACK_DAYS:
            found.append(f'"{match[0]}" (the guarantee is {plans.MONEY_BACK_DAYS} days)')

    # A price per month or per year must be a plan's.
    per = r"\s*(?:a|per|/|each)\s*"
    for match in re.finditer(rf"£\s?{_NUMBER}(?:{per}(month|mo)\b|\s+monthly\b)", text, re.I):
        if _amount(match[1]) not in monthly:
            found.append(f'"{match[0]}" (monthly prices are {", ".join(map(plans.gbp, sorted(monthly)))})')
    for match in re.finditer(rf"£\s?{_NUMBER}(?:{per}(year|yr)\b|\s+yearly\b)", text, re.I):
        if _amount(match[1]) not in yearly:
            found.append(f'"{match[0]}" (yearly prices are {", ".join(map(plans.gbp, sorted(yearly)))})')

    # A first-response time must be a plan's.
    for match in re.finditer(
        r"(?:first[- ]response|respond|response)[^.£]{0,40}?\b(\d+)\s?(?:h|hrs?|hours?)\b", text, re.I
    ):
        if int(match[1]) not in sla_hours:
            found.append(f'"{match[0]}" (first-response times are {", ".join(f"{h} h" for h in sorted(sla_hours))})')

    # A business-day range is a done-for-you timeline.
    for match in re.finditer(r"\b(\d+)\s?[–-]\s?(\d+) business days", text):
        if (int(match[1]), int(match[2])) not in timelines:
            found.append(
                f'"{match[0]}" (build timelines are {", ".join(plans.dfy_timeline(t) for t in plans.DFY_TIERS)})'
            )

    # Figures right after a plan or tier name belong to that plan or tier.
    plan_by_name = {p.name: p for p in plans.PLANS}
    tier_by_name = {t.name: t for t in plans.DFY_TIERS}
    names = _names([*plan_by_name, *tier_by_name])
    anchor = re.compile(rf"\b({names})\b(?!\s+(?:continuity|days?|hours?|plan's quota))")
    anchors = list(anchor.finditer(text))
    for index, match in enumerate(anchors):
        end = anchors[index + 1].start() if index + 1 < len(anchors) else len(text)
        window = text[match.end() : min(end, match.end() + 60)]
        window = re.split(r"[.;!?](?:\s|$)", window, maxsplit=1)[0]
        plan, tier = plan_by_name.get(match[1]), tier_by_name.get(match[1])
        allowed = set()
        if plan:
            allowed |= {plan.monthly, plan.yearly}
        if tier:
            allowed.add(tier.price)
        for price in re.finditer(rf"£\s?{_NUMBER}", window):
            if _amount(price[1]) not in allowed:
                found.append(
                    f'"{match[1]}{window[: price.end()]}" ({match[1]} is {", ".join(map(plans.gbp, sorted(allowed)))})'
                )
        if plan:
            for hours in re.finditer(r"\b(\d+)\s?(?:h|hours?)\b", window):
                if int(hours[1]) != plan.support_sla_hours:
                    found.append(
                        f'"{match[1]}{window[: hours.end()]}" ({plan.name} responds in {plans.sla_text(plan)})'
                    )
        if tier:
            for count in re.finditer(r"\b(\d+) workflows?\b", window):
                if int(count[1]) != tier.workflows:
                    found.append(f'"{match[1]}{window[: count.end()]}" ({tier.name} builds {tier.workflows})')
    return list(dict.fromkeys(found))


def drift_report(context: dict) -> dict[str, list[str]]:
    """{template name: its findings} for every template that drifted."""
    report = {}
    for name in template_names():
        problems = findings(visible_text(render_for_check(name, context)))
        if problems:
            report[name] = problems
    return report
