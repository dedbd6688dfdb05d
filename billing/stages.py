"""The dunning ladder: one row per stage, and everything keyed by stage
derives from it. The model's choices and its check constraint
(`billing.models`), the sweep: which stage is due at which age and which one
pauses the account (`billing.services.dunning`), the reminder email's
subject and sentence (`billing.notices`, one template for every stage), and
the admin's stage and age filters.

Adding a stage is one row here (code at most 6 characters: the column's
width) and `manage.py makemigrations billing` (the choices and the
constraint's allowed codes change); nothing else. The subject and the
sentence are exactly what the customer reads.

Functions read `STAGES` when called, so a test can swap the table."""

from dataclasses import dataclass
from datetime import timedelta

from django.db.models import Q

REMINDER_TEMPLATE = "dunning-reminder"


@dataclass(frozen=True)
class DunningStage:
    code: str  # stored on the case and as its email's stage in the outbox
    day: int  # days after the case opened when it falls due
    label: str  # what staff see for a case at this stage
    subject: str  # the email's subject; {amount} is the amount due
    sentence: str  # the email's first line
    pauses: bool = False  # reaching it pauses the account for billing
    template: str = REMINDER_TEMPLATE  # under templates/emails/

    @property
    def email_name(self) -> str:
        """The message's name in the email log, the provider's tags and the case
        timeline (each stage had its own template folder under this name)."""
        return f"dunning-{self.code}"

    @property
    def notice_label(self) -> str:
        """What staff see for this stage's email."""
        return self.label if self.pauses else f"Day {self.day} reminder"


STAGES: tuple[DunningStage, ...] = (
    DunningStage(
        code="day0",
        day=0,
        label="Day 0: payment failed",
        subject="Payment failed for your Levqor subscription ({amount})",
        sentence="Payment failed, please update your card to avoid interruption.",
    ),
    DunningStage(
        code="day7",
        day=7,
        label="Day 7: second reminder",
        subject="Second reminder: your Levqor payment of {amount} is still due",
        sentence="Second reminder, service will be paused if payment is not fixed.",
    ),
    DunningStage(
        code="day14",
        day=14,
        label="Day 14: paused",
        subject="Your Levqor account is paused: payment of {amount} not received",
        sentence="Account paused due to non-payment, contact support to restore.",
        pauses=True,
    ),
)


def by_code(code: str) -> DunningStage | None:
    return next((stage for stage in STAGES if stage.code == code), None)


def rank(code: str) -> int:
    """0 for a case no stage was claimed for yet, then 1, 2, ... up the ladder."""
    return next((index for index, stage in enumerate(STAGES, start=1) if stage.code == code), 0)


def reached(age: timedelta) -> DunningStage | None:
    """The most advanced stage a case of this age has reached."""
    due = None
    for stage in sorted(STAGES, key=lambda stage: stage.day):
        if age >= timedelta(days=stage.day):
            due = stage
    return due


def following(code: str) -> DunningStage | None:
    """The stage after this one ("" for none yet: the first), or None at the top."""
    index = rank(code)
    return STAGES[index] if index < len(STAGES) else None


def skipped(previous: str, current: str) -> list[str]:
    """The stages a case jumped over going from `previous` to `current` (the sweep was down)."""
    return [stage.code for stage in STAGES if rank(previous) < rank(stage.code) < rank(current)]


def known_codes_q() -> Q:
    """The check constraint's condition: a case's stage is blank or a row's code."""
    return Q(stage__in=["", *(stage.code for stage in STAGES)])


def ladder_summary() -> str:
    """E.g. "day 0, 7, 14 emails; pause at day 14", for help texts."""
    summary = "day " + ", ".join(str(stage.day) for stage in STAGES) + " emails"
    paused = [stage.day for stage in STAGES if stage.pauses]
    return summary + (f"; pause at day {paused[0]}" if paused else "")


def age_brackets() -> list[tuple[str, str, int | None, int | None]]:
    """The admin's case-age filter, cut at each stage's day: (key, title,
    from day, before day), e.g. ("7to14", "7–13 days", 7, 14)."""
    days = sorted({stage.day for stage in STAGES if stage.day > 0})
    if not days:
        return []
    brackets: list[tuple[str, str, int | None, int | None]] = [(f"lt{days[0]}", f"Under {days[0]} days", None, days[0])]
    for start, end in zip(days, days[1:], strict=False):
        brackets.append((f"{start}to{end}", f"{start}–{end - 1} days", start, end))
    brackets.append((f"gte{days[-1]}", f"{days[-1]} days or more", days[-1], None))
    return brackets
