"""The alliance contract (alliance.yaml) as validated, immutable types.

Money is read as exact decimals (the YAML loader hands Decimals, never floats) with at most
two decimal places, and kept as integer pence.
"""

import hashlib
import json
import re
from collections.abc import Mapping
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from domain.errors import ConfigError, UnknownPartner, UsageError
from domain.money import pounds_to_pence
from domain.periods import Period
from domain.publication import DEFAULT_THRESHOLD, FIGURES, Grade
from domain.return_layout import FIELD_HEADERS, SUMMARY_PARTICIPANTS, SUMMARY_PARTICIPANTS_LABEL, canonical_header

SLUG = r"^[a-z0-9]+(?:[-_][a-z0-9]+)*$"

# Bounds, so that no contract a person could mean fails half-way through a run (issue 31, case 10). Pence are kept in
# BigInteger columns (at most 9.2e18) and worked in a Decimal context of 34 digits (domain.money): a sum of pounds
# is at most a trillion (1e14 pence), so ten thousand partners' core plus the pool still fit a column 9,000 times
# over; a weight, band or target is at most a million, so points (rows per return, 20,000, times weight times band)
# stay below 1e17 and any product of them with pence below 1e31, inside 34 digits. Real contracts are far inside.
MAX_POUNDS = Decimal(10**12)
MAX_POINTS = Decimal(10**6)
MAX_RATE = Decimal(100)  # collar and cap are factors of the pool (0.8, 1.2)
MAX_DAYS = 3650  # a period of days in the review: ten years

Money = Annotated[Decimal, Field(gt=0, le=MAX_POUNDS, decimal_places=2, allow_inf_nan=False)]
Rate = Annotated[Decimal, Field(ge=0, le=MAX_RATE, allow_inf_nan=False)]
Points = Annotated[Decimal, Field(gt=0, le=MAX_POINTS, allow_inf_nan=False)]


class Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=False)


class PartnerSize(StrEnum):
    small = "small"
    medium = "medium"
    large = "large"


# An email address as the contract gives it (lower-cased when read): something@somewhere.tld, no spaces.
EmailAddress = Annotated[
    str, Field(max_length=254, pattern=r"^[^@\s\x00-\x1f\x7f]+@[^@\s\x00-\x1f\x7f]+\.[^@\s\x00-\x1f\x7f]+$")
]


# A Slack user id: U or W, then capitals and digits, with a digit among them (Slack's ids have them; a name in
# capitals, WALTER, has none). Slack's ids are case-sensitive: ``u0harbour`` is not U0HARBOUR.
SLACK_USER_ID = re.compile(r"^[UW](?=[A-Z]*[0-9])[A-Z0-9]{2,}$")
# The same written in another case: refused in the contract, where it would otherwise be taken for a name.
_ID_IN_ANOTHER_CASE = re.compile(r"^[UuWw](?=[A-Za-z]*[0-9])[A-Za-z0-9]{2,}$")


def _slack_id_as_slack_writes_it(person: str) -> str:
    """A person given as a Slack user id must be written as Slack writes it, in capitals: it is matched exactly."""
    if _ID_IN_ANOTHER_CASE.match(person) and not SLACK_USER_ID.match(person):
        raise ValueError(
            f"{person} looks like a Slack user id, and Slack user ids are in capitals ({person.upper()}): "
            "write it as Slack shows it, or give the person's name"
        )
    return person


class AllianceInfo(Frozen):
    name: str = Field(min_length=1)
    commissioner: str = Field(min_length=1)
    contract_start: str
    year_start_month: int | None = Field(default=None, ge=1, le=12)
    currency: str = "GBP"
    officers_channel: str = Field(default="#alliance-officers", pattern=r"^#[a-z0-9][a-z0-9._-]*$")
    board_channel: str = Field(default="#alliance-board", pattern=r"^#[a-z0-9][a-z0-9._-]*$")
    # Where partners may email their returns, if the alliance takes them so (on every template's Guidance sheet).
    returns_email: EmailAddress | None = None

    @field_validator("returns_email", mode="before")
    @classmethod
    def _lower(cls, value: Any) -> Any:
        return value.strip().casefold() if isinstance(value, str) else value

    @field_validator("contract_start", mode="before")
    @classmethod
    def _period(cls, value: Any) -> str:
        try:
            return str(Period.parse(str(value)))
        except UsageError as exc:  # reported at its key, with the contract's other problems
            raise ValueError(str(exc)) from None

    @field_validator("currency")
    @classmethod
    def _gbp(cls, value: str) -> str:
        if value != "GBP":
            raise ValueError("only GBP is supported")
        return value

    @property
    def start(self) -> Period:
        return Period.parse(self.contract_start)


class Partner(Frozen):
    id: str = Field(pattern=SLUG, max_length=64)
    name: str = Field(min_length=1)
    size: PartnerSize
    annual_core: Money
    # Where the partner is told things: its Slack channel, its email addresses, or both (at least one).
    slack_channel: str | None = Field(default=None, pattern=r"^#[a-z0-9][a-z0-9._-]*$")
    email: list[EmailAddress] = Field(default_factory=list)
    contacts: list[str] = Field(default_factory=list)

    @field_validator("email", mode="before")
    @classmethod
    def _addresses(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = [value]
        if isinstance(value, list):
            value = [v.strip().casefold() if isinstance(v, str) else v for v in value]
        return value

    @model_validator(mode="after")
    def _reachable(self) -> "Partner":
        if self.slack_channel is None and not self.email:
            raise ValueError(f"{self.id} needs a slack_channel or an email address: otherwise it is told nothing")
        return self

    @property
    def annual_core_pence(self) -> int:
        return pounds_to_pence(self.annual_core)


# What the records hold of a measure id or band name (their columns are VARCHAR(64)).
NAME_LENGTH = 64


class Measure(Frozen):
    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$", max_length=NAME_LENGTH)
    label: str = Field(min_length=1)
    weight: Points
    monthly_target: Annotated[Decimal, Field(ge=0, le=MAX_POINTS, allow_inf_nan=False)]
    kind: str = "boolean"

    @field_validator("kind")
    @classmethod
    def _boolean(cls, value: str) -> str:
        if value != "boolean":
            raise ValueError("only boolean (achieved this month: Yes/No) measures are supported")
        return value


# Participant fields that are not outcome measures; measure ids must not reuse them.
PARTICIPANT_FIELDS = ("participant_id", "referral_date", "complexity_band")
OPTIONAL_FIELDS = ("postcode_district",)


class Framework(Frozen):
    version: int = Field(ge=1, le=1_000_000)
    bands: dict[str, Points]
    measures: list[Measure] = Field(min_length=1)

    @field_validator("bands")
    @classmethod
    def _bands(cls, value: dict[str, Decimal]) -> dict[str, Decimal]:
        if not value:
            raise ValueError("at least one complexity band is required")
        for name in value:
            if not re.match(r"^[a-z][a-z0-9_]*$", name):
                raise ValueError(f"band name {name!r} must be lower_snake_case")
            if len(name) > NAME_LENGTH:
                raise ValueError(f"band name {name[:20]}... is {len(name)} characters: at most {NAME_LENGTH}")
        return value

    @model_validator(mode="after")
    def _unique_measures(self) -> "Framework":
        ids = [m.id for m in self.measures]
        duplicates = sorted({i for i in ids if ids.count(i) > 1})
        if duplicates:
            raise ValueError(f"measure ids must be unique; repeated: {', '.join(duplicates)}")
        clashes = sorted(set(ids) & set(PARTICIPANT_FIELDS + OPTIONAL_FIELDS))
        if clashes:
            raise ValueError(f"measure ids clash with participant fields: {', '.join(clashes)}")
        # A header is read back to its column whether it is the label or the id: no two columns may read alike.
        seen: dict[str, str] = {}
        for column, header in self.headers.items():
            for name in {canonical_header(column), canonical_header(header)}:
                if seen.setdefault(name, column) != column:
                    raise ValueError(f"the column headers of {seen[name]} and {column} read alike ({name})")
        return self

    @property
    def headers(self) -> dict[str, str]:
        """Each column id and the header the template shows for it: a measure's label, a field's plain name."""
        labels = {m.id: m.label for m in self.measures}
        return {c: labels.get(c) or FIELD_HEADERS.get(c, c) for c in self.columns}

    @property
    def header_aliases(self) -> dict[str, str]:
        """A header as read (canonical: lower case, underscores) -> its column id; the id itself reads too."""
        aliases = {canonical_header(column): column for column in self.columns}
        aliases.update({canonical_header(header): column for column, header in self.headers.items()})
        return aliases

    @property
    def summary_items(self) -> dict[str, str]:
        """The Summary sheet's items: key -> what column A shows."""
        return {SUMMARY_PARTICIPANTS: SUMMARY_PARTICIPANTS_LABEL, **{m.id: m.label for m in self.measures}}

    @property
    def names(self) -> dict[str, str]:
        """How a partner's sheets name each column and Summary item, for the words of a finding."""
        return {**self.headers, **self.summary_items}

    @property
    def measure_ids(self) -> list[str]:
        return [m.id for m in self.measures]

    @property
    def columns(self) -> list[str]:
        return [*PARTICIPANT_FIELDS, *self.measure_ids, *OPTIONAL_FIELDS]

    def target_points(self) -> Decimal:
        """T: the alliance's monthly target points (targets count standard-band outcomes)."""
        return sum((m.weight * m.monthly_target for m in self.measures), Decimal(0))


class Payments(Frozen):
    annual_outcome_pool: Annotated[Decimal, Field(ge=0, le=MAX_POUNDS, decimal_places=2, allow_inf_nan=False)]
    collar: Rate
    cap: Rate
    # An officer approves every run before it is paid, unless the contract says otherwise.
    require_officer_approval: bool = True
    # The most of any one payment that recovering an overpayment may take (domain.settlement).
    recovery_max_share: Annotated[Decimal, Field(gt=0, le=1, allow_inf_nan=False)] = Decimal("0.25")
    # A correction run sends a statement only to partners whose payment changed by at least this (pence);
    # smaller movements are carried into their next statement.
    notify_change_pence: int = Field(default=100, ge=0, le=int(MAX_POUNDS) * 100)

    @model_validator(mode="after")
    def _collar_below_cap(self) -> "Payments":
        if self.collar > self.cap:
            raise ValueError("collar must not be greater than cap")
        return self

    @property
    def annual_outcome_pool_pence(self) -> int:
        return pounds_to_pence(self.annual_outcome_pool)


class RankBy(StrEnum):
    """What fills the bottom-fraction slots (issue 29): the overdispersion-adjusted z-score, or O/E."""

    z = "z"
    ratio = "ratio"


class FirstYearRule(StrEnum):
    """With ``persistence``, the rule for a year with no previous one (contract year 1, or a partner new this year)."""

    both_halves = "both_halves"  # also below the lower limit in each half of the year, each half assessed alone
    limit_998 = "limit_998"  # below the 99.8% limit (z 3.09) rather than the configured one


class Review(Frozen):
    bottom_fraction: Annotated[Decimal, Field(gt=0, le=1)] = Decimal("0.10")
    min_accepted_months: int = Field(default=9, ge=1, le=12)
    control_limit_z: Annotated[Decimal, Field(gt=0, le=100, allow_inf_nan=False)] = Decimal("1.96")
    overdispersion: bool = True
    # Issue 29: fair by default in every year (bench/review_targets.py, `python -m bench review`).
    persistence: bool = True  # a later year: also in last year's bottom fifth
    first_year: FirstYearRule = FirstYearRule.both_halves  # a year with no previous one, with persistence
    rank_by: RankBy = RankBy.z
    right_of_reply_days: int = Field(default=14, ge=1, le=MAX_DAYS)
    board_timeout_days: int = Field(default=30, ge=1, le=MAX_DAYS)
    step_down_percent_options: list[Annotated[int, Field(gt=0, le=100)]] = Field(
        default_factory=lambda: [10, 25, 50, 100]
    )
    # Who is told when the board's decision is overdue: a Slack user id (U...) is mentioned, a name is written.
    board_chair: Annotated[str, AfterValidator(_slack_id_as_slack_writes_it)] = Field(
        default="Board chair", min_length=1
    )
    # How many different board members must confirm the same step-down or withdrawal before it takes effect.
    decision_quorum: int = Field(default=1, ge=1, le=12)


class Deadlines(Frozen):
    due_day: int = Field(ge=1, le=28)
    reminder_days_before: list[Annotated[int, Field(ge=0, le=28)]] = Field(default_factory=list)


class ReportSettings(Frozen):
    """What the alliance report publishes (domain.publication): each figure's grade, and small numbers hidden."""

    suppress_below: int = Field(default=DEFAULT_THRESHOLD, ge=1, le=1000)  # counts under it are shown as "<5"
    figures: dict[str, Grade] = Field(default_factory=dict)  # figure id -> public | alliance | officers

    @field_validator("figures")
    @classmethod
    def _known_figures(cls, value: dict[str, Grade]) -> dict[str, Grade]:
        unknown = sorted(set(value) - set(FIGURES))
        if unknown:
            raise _at((unknown[0],), f"is not a figure of the report (figures: {', '.join(FIGURES)})")
        return value


class SpotChecks(Frozen):
    """Each month, claimed outcomes drawn per partner for officers to verify against evidence."""

    sample_size: int = Field(default=3, ge=0, le=1000)  # claims per partner and month at ordinary risk
    max_sample: int = Field(default=12, ge=0, le=10000)  # the most drawn from one partner in a month

    @model_validator(mode="after")
    def _max_not_below_size(self) -> "SpotChecks":
        if self.max_sample < self.sample_size:
            raise ValueError("max_sample must not be less than sample_size")
        return self


# A person named in ``roles``: a Slack user id (U.../W...) or a name as the person gives it with --as.
Person = Annotated[
    str,
    Field(min_length=1, max_length=120, pattern=r"^\S(?:[^\x00-\x1f\x7f]*\S)?$"),
    AfterValidator(_slack_id_as_slack_writes_it),
]


class Roles(Frozen):
    """Who acts as what (DESIGN.md section 7); the rules are in ``domain.access``. A person may hold several roles."""

    officers: list[Person] = Field(min_length=1)
    board: list[Person] = Field(default_factory=list)
    partners: dict[str, list[Person]] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _each_person_once_per_list(self) -> "Roles":
        lists: dict[tuple[str, ...], list[str]] = {("officers",): self.officers, ("board",): self.board}
        lists.update({("partners", pid): people for pid, people in self.partners.items()})
        for path, people in lists.items():
            keys = [person_key(p) for p in people]
            twice = sorted({p for p in people if keys.count(person_key(p)) > 1})
            if twice:
                raise _at(path, f"lists {', '.join(twice)} more than once")
        return self


def person_key(person: str) -> str:
    """How a person is matched: a name whatever its case and runs of spaces (``ann  harbour`` is ``Ann Harbour``),
    a Slack user id exactly (``u0harbour`` is not ``U0HARBOUR``: Slack's ids are case-sensitive). A name's key is
    case-folded and so never equals an id's, which is in capitals."""
    given = " ".join(person.split())
    return given if SLACK_USER_ID.match(given) else given.casefold()


def _at(path: tuple[str, ...], message: str) -> PydanticCustomError:
    """A problem below the field being validated, reported at its own key path (``roles.partners.x: ...``)."""
    return PydanticCustomError("at_path", "{message}", {"path": path, "message": message})


class Contract(Frozen):
    alliance: AllianceInfo
    partners: list[Partner] = Field(min_length=1)
    framework: Framework
    payments: Payments
    review: Review = Field(default_factory=Review)
    deadlines: Deadlines
    roles: Roles | None = None  # None: one operator does everything (the embedded default, the demo)
    report: ReportSettings = Field(default_factory=ReportSettings)
    spot_checks: SpotChecks = Field(default_factory=SpotChecks)

    @model_validator(mode="after")
    def _roles_name_known_partners(self) -> "Contract":
        if self.roles is None:
            return self
        unknown = sorted(set(self.roles.partners) - set(self.partner_ids))
        if unknown:
            known = ", ".join(self.partner_ids)
            raise _at(("roles", "partners", unknown[0]), f"is not a partner id in this contract (partners: {known})")
        return self

    @model_validator(mode="after")
    def _unique_partners(self) -> "Contract":
        ids = [p.id for p in self.partners]
        duplicates = sorted({i for i in ids if ids.count(i) > 1})
        if duplicates:
            raise ValueError(f"partner ids must be unique; repeated: {', '.join(duplicates)}")
        return self

    @model_validator(mode="after")
    def _one_channel_per_audience(self) -> "Contract":
        # A shared channel would send one partner's messages and statements to another.
        owners: dict[str, list[str]] = {}
        for partner in self.partners:
            for destination in ([partner.slack_channel] if partner.slack_channel else []) + partner.email:
                owners.setdefault(destination, []).append(partner.id)
        for channel in {self.alliance.officers_channel, self.alliance.board_channel}:
            owners.setdefault(channel, []).append("the alliance office or board")
        shared = sorted(f"{channel} ({', '.join(ids)})" for channel, ids in owners.items() if len(ids) > 1)
        if shared:
            listed = "; ".join(shared)
            raise ValueError(
                f"each partner needs its own Slack channel and email addresses, apart from officers and board: {listed}"
            )
        return self

    def partner(self, partner_id: str) -> Partner | None:
        return next((p for p in self.partners if p.id == partner_id), None)

    def known_partner(self, partner_id: str) -> Partner:
        """The partner with this id; refused, naming the ids there are, if the contract has none (every command and
        page that takes a partner id asks here)."""
        partner = self.partner(partner_id)
        if partner is None:
            raise UnknownPartner(f"no partner {partner_id!r} in this contract; partners: {', '.join(self.partner_ids)}")
        return partner

    @property
    def partner_ids(self) -> list[str]:
        return sorted(p.id for p in self.partners)

    def fingerprint(self) -> str:
        """A short hash of the contract's content: what a payment run was computed under."""
        # Who holds which role, what is published and how many claims are checked pay no one differently:
        # changing them must not make a new payment run version.
        content = self.model_dump(
            mode="json", exclude=dict.fromkeys(NOT_PAYMENT_TERMS, True) | CONTACT_DETAILS | PROCEDURE
        )
        payments = content["payments"]
        for name in SETTLEMENT_TERMS:  # when an overpayment is recovered, or who is told, entitles no one to more
            payments.pop(name, None)
        # Approval became the default (issue 27) and pays no one differently: a contract that does not say keeps
        # the fingerprint it had when silence meant no approval, so its paid months are not made again.
        if "require_officer_approval" not in self.payments.model_fields_set:
            payments["require_officer_approval"] = False
        # Who the review flags pays no one differently either (a step-down is a decision, with its own record): the
        # review's rule (issue 29) is left out, and persistence written as false, as every contract that did not
        # say had it, so that no paid month is made again.
        for name in REVIEW_RULE:
            content["review"].pop(name, None)
        content["review"]["persistence"] = False
        canonical = json.dumps(content, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()[:16]


NOT_PAYMENT_TERMS = ("roles", "report", "spot_checks")
# How overpayments are recovered and when a partner is told (issue 27): never in the fingerprint.
SETTLEMENT_TERMS = ("recovery_max_share", "notify_change_pence")
# How a partner is reached pays it no differently either (slack_channel predates this rule and stays covered).
CONTACT_DETAILS: dict[str, Any] = {"partners": {"__all__": {"email"}}, "alliance": {"returns_email"}}
# How the board reaches a decision (not what it decides) pays no one differently.
PROCEDURE: dict[str, Any] = {"review": {"decision_quorum"}}
REVIEW_RULE = ("first_year", "rank_by")


def _key_path(loc: tuple[int | str, ...]) -> str:
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += f".{part}" if path else str(part)
    return path or "(top level)"


_MESSAGES = {
    "missing": lambda ctx: "is required",
    "extra_forbidden": lambda ctx: "is not a known key",
    "greater_than": lambda ctx: f"must be > {ctx['gt']}",
    "greater_than_equal": lambda ctx: f"must be >= {ctx['ge']}",
    "less_than": lambda ctx: f"must be < {ctx['lt']}",
    "less_than_equal": lambda ctx: f"must be <= {ctx['le']}",
    "decimal_max_places": lambda ctx: f"must have at most {ctx['decimal_places']} decimal places",
    "string_pattern_mismatch": lambda ctx: f"must match {ctx['pattern']}",
    "too_short": lambda ctx: f"must have at least {ctx['min_length']} item(s)",
    "string_too_short": lambda ctx: "must not be empty",
    "string_too_long": lambda ctx: f"must have at most {ctx['max_length']} characters",
    "enum": lambda ctx: f"must be one of {ctx['expected']}",
    "at_path": lambda ctx: ctx["message"],
    # YAML 1.1 would read 1:30 as 90 and 0x1F as 31; the loader hands such text on to be refused here.
    "decimal_parsing": lambda ctx: "must be a number written in digits (e.g. 48000 or 310000.50)",
    "int_parsing": lambda ctx: "must be a whole number written in digits",
}


def _problem(error: Mapping[str, Any]) -> str:
    loc = tuple(p for p in error["loc"] if not (isinstance(p, str) and p.startswith("function-")))
    if error["type"] == "at_path":
        loc += tuple(error["ctx"]["path"])
    render = _MESSAGES.get(error["type"])
    message = render(error.get("ctx", {})) if render else str(error["msg"])
    message = message.removeprefix("Value error, ")
    return f"{_key_path(loc)}: {message}"


def parse_contract(data: object, source: str = "alliance.yaml") -> Contract:
    """Validate already-parsed YAML; every problem is reported with its key path."""
    if not isinstance(data, Mapping):
        raise ConfigError(f"{source}: the file must be a mapping of sections (alliance, partners, ...)")
    try:
        return Contract.model_validate(data)
    except ValidationError as exc:
        problems = [_problem(e) for e in exc.errors()]
        raise ConfigError(f"{source} has {len(problems)} problem(s)", problems, source) from None
