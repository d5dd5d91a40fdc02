"""Who may do what (DESIGN.md section 7): one table per face, one check for both. Pure.

Two faces, one rule. On the command line the caller is who ``--as`` (or ALLIANCE_USER) says, matched
against the roles in force: the contract's ``roles`` section as the database records it (services/roles.py), never
the file a caller points --workspace at. Without roles one operator does everything (the embedded default, the
demo); with them, every command is for the roles :data:`PERMISSIONS` names. In the portal the
caller is a signed-in account (``domain.accounts``): a person with one role, proved by a password. Both
become a :class:`Principal`, and the same :func:`authorise` decides both, over :data:`PERMISSIONS` (the
commands) and :data:`PAGES` (what only the portal does). A partner sees and acts on its own data only.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from domain.contract import Roles, person_key
from domain.errors import AccessDenied


class Role(StrEnum):
    officer = "officer"
    board = "board"
    partner = "partner"


OFFICERS = frozenset({Role.officer})
BOARD = frozenset({Role.board})
PARTNERS = frozenset({Role.partner})

# Every command of the `alliance` CLI, and who may run it once the contract has `roles`. None: no role
# needed (nothing of the alliance's is read or changed). tests/cli/test_access_matrix.py fails for a
# command missing here, so a new command cannot be unrestricted by accident.
PERMISSIONS: Mapping[str, frozenset[Role] | None] = {
    "findings": None,  # the findings catalogue: documentation
    "demo": None,  # builds its own workspace (whose contract has no roles)
    "db upgrade": None,  # schema migrations: changes no record's meaning, run by whoever deploys
    "validate": OFFICERS | PARTNERS,  # a partner: only its own returns
    "templates": OFFICERS,
    "expectations": OFFICERS,
    "cycle run": OFFICERS,
    "reminders": OFFICERS,
    "payments show": OFFICERS | BOARD | PARTNERS,  # a partner: its own lines and the alliance's figures
    "payments approve": OFFICERS,
    "payments export": OFFICERS,
    "period unlock": OFFICERS,
    "period send-back": OFFICERS,  # an accepted return back to its partner, with feedback
    "status": OFFICERS,  # the returns grid: every partner's month, reporting and on-time rates
    "notifications": OFFICERS | PARTNERS,  # the outbox; a partner: only messages to its own channel
    "notifications send": OFFICERS,
    "notifications retry": OFFICERS,
    "audit show": OFFICERS,
    "audit verify": OFFICERS,
    "review show": OFFICERS | BOARD | PARTNERS,  # a partner: its own row only
    "review run": OFFICERS,
    "serve": OFFICERS,  # runs every scheduled flow: the cycle, reminders, the review
    "review reply": PARTNERS,  # only for a partner the caller acts for
    "review decide": BOARD,
    "report": OFFICERS,  # builds every audience's report (the audiences' grades are in alliance.yaml)
    "checks list": OFFICERS,  # claims drawn name participants: the alliance office only
    "checks record": OFFICERS,
    "web": OFFICERS,  # runs the portal (whoever signs in there is an account, below)
    "users invite": OFFICERS,  # accounts: an officer creates them
    "users list": OFFICERS,
    "users disable": OFFICERS,
    "users reset": OFFICERS,  # a new password link for someone (also self-service on the sign-in page)
}

# What the portal does that no command does, and who may. A page doing what a command does is governed by the
# command's entry (the upload check is `validate`, the review reply `review reply`). web/ declares, for every
# route, the action it performs; tests/web/test_access_matrix.py fails for a route without one.
PAGES: Mapping[str, frozenset[Role]] = {
    "portal returns": PARTNERS,  # its months, versions, findings and feedback workbooks
    "portal template": PARTNERS,  # the period's template, made for it
    "portal submit": PARTNERS,  # upload a return: filed exactly as an inbox file from its folder
    "portal statements": PARTNERS,  # its payment statements
    "portal review": PARTNERS,  # a review's notice and evidence pack, when it is flagged
    "board review": BOARD | OFFICERS,  # the year's review, each flagged partner's evidence and replies
    "office payments": OFFICERS,  # a run with every partner's return beside its lines (the CLI's is `payments show`)
}

_LIST = {Role.officer: "roles.officers", Role.board: "roles.board", Role.partner: "roles.partners"}
_WHO = {Role.officer: "officers", Role.board: "the board", Role.partner: "partners"}
_ACCOUNT = {
    Role.officer: "an officer's account",
    Role.board: "a board member's account",
    Role.partner: "a partner's account",
}


@dataclass(frozen=True)
class Principal:
    """Who is calling, as the contract knows them."""

    who: str | None  # as listed in the contract (else as given); None: nobody said
    roles: frozenset[Role]
    partner_ids: frozenset[str]  # the partners they act for
    restricted: bool  # False: the contract has no roles and the caller may do everything
    account_id: int | None = None  # a signed-in portal account (its role is the account's), not a contract name
    name: str | None = None  # an account's person, as named (``who`` adds the address)

    @property
    def account(self) -> bool:
        return self.account_id is not None

    def acts_for(self, partner_id: str) -> bool:
        """May act in the partner's name (reply for it)."""
        return not self.restricted or partner_id in self.partner_ids

    def sees(self, partner_id: str) -> bool:
        """May see the partner's figures, returns and messages."""
        return self.sees_all or partner_id in self.partner_ids

    @property
    def sees_all(self) -> bool:
        return not self.restricted or bool(self.roles & (OFFICERS | BOARD))


def resolve(roles: Roles | None, who: str | None) -> Principal:
    """The caller's roles from the contract; a person is matched whatever the case and spacing."""
    if roles is None:
        return Principal(who=who, roles=frozenset(Role), partner_ids=frozenset(), restricted=False)
    if who is None or not who.strip():
        return Principal(who=None, roles=frozenset(), partner_ids=frozenset(), restricted=True)
    key = person_key(who)
    held: set[Role] = set()
    listed = who.strip()
    for role, people in ((Role.officer, roles.officers), (Role.board, roles.board)):
        for person in people:
            if person_key(person) == key:
                held.add(role)
                listed = person
    partner_ids = set()
    for partner_id, people in roles.partners.items():
        for person in people:
            if person_key(person) == key:
                partner_ids.add(partner_id)
                listed = person
    if partner_ids:
        held.add(Role.partner)
    return Principal(who=listed, roles=frozenset(held), partner_ids=frozenset(partner_ids), restricted=True)


def for_account(*, account_id: int, who: str, role: Role, partner_id: str | None, name: str | None = None) -> Principal:
    """A signed-in account: one role, and for a partner's account the one partner it acts for."""
    partners = frozenset({partner_id}) if role is Role.partner and partner_id else frozenset()
    return Principal(
        who=who, roles=frozenset({role}), partner_ids=partners, restricted=True, account_id=account_id, name=name
    )


def person_of(principal: Principal) -> str:
    """The same person however they came (an account, ``--as``, a name typed in a form), for counting people once:
    an account by its person's name, anyone else by the name given."""
    return person_key(principal.name or principal.who or "")


def command(action: str) -> str:
    return f"`alliance {action}`" if action in PERMISSIONS else f"the portal's {action.removeprefix('portal ')} pages"


def allowed_roles(action: str) -> frozenset[Role] | None:
    """The roles an action (a command of PERMISSIONS, or a page of PAGES) is for; None: anyone."""
    if action in PERMISSIONS:
        return PERMISSIONS[action]
    if action in PAGES:
        return PAGES[action]
    raise KeyError(f"{action!r} is in neither domain.access.PERMISSIONS nor PAGES")


def may(principal: Principal, action: str) -> bool:
    allowed = allowed_roles(action)
    return not principal.restricted or allowed is None or bool(principal.roles & allowed)


def authorise(principal: Principal, action: str) -> None:
    """Refuse, in words the caller can act on, an action their roles do not allow."""
    allowed = allowed_roles(action)
    if may(principal, action) or allowed is None:
        return
    ordered = [role for role in Role if role in allowed]
    needed = f"{command(action)} is for {_either([_WHO[r] for r in ordered])}"
    if principal.account:
        held = _either([_ACCOUNT[r] for r in Role if r in principal.roles])
        raise AccessDenied(f"{needed}; {principal.who} has {held}")
    if principal.who is None:
        ask = "say who you are with --as NAME or ALLIANCE_USER (listed under roles in alliance.yaml)"
        raise AccessDenied(f"{needed}; {ask}")
    if not principal.roles:
        raise AccessDenied(f"{needed}; {principal.who} is not listed under roles in alliance.yaml")
    lists = _either([_LIST[r] for r in ordered])
    raise AccessDenied(f"{needed}; {principal.who} is not listed under {lists} in alliance.yaml")


def authorise_partner(principal: Principal, partner_id: str, subject: str) -> None:
    """Refuse acting in another partner's name: ``subject`` is what is being done ("this reply")."""
    if principal.acts_for(partner_id):
        return
    raise AccessDenied(f"{_acts_for(principal)}; {subject} is for {partner_id}")


def refuse_other_partners(principal: Principal, subject: str) -> AccessDenied:
    """The refusal when ``subject`` belongs to a partner the caller does not see, without saying which."""
    return AccessDenied(f"{_acts_for(principal)}; {subject} is another partner's, so it is not shown")


def recorded_name(principal: Principal, by: str | None) -> str:
    """Who a command records as acting (``--by``). With roles it is the caller: ``--by`` may be left
    out, and naming anyone else is refused; without roles, ``--by`` (else ``--as``) as given."""
    if not principal.restricted:
        return (by or principal.who or "").strip()
    assert principal.who is not None, "authorise() refuses a caller who is not named"
    if by is None or not by.strip() or person_key(by) == person_key(principal.who):
        return principal.who
    raise AccessDenied(
        f"you act as {principal.who}; --by {by.strip()} would record someone else: leave --by out or give your own name"
    )


def authorise_person(roles: Roles | None, person: "str | Principal", action: str, partner_id: str | None = None) -> str:
    """For a service recording who acted: a signed-in account's :class:`Principal`, or a name (the Prefect form's
    "decided by", a ``--by``) that, with roles, must hold the action's role. Either must act for ``partner_id``
    when given. Returns the name to record: as listed in the contract or the account, or as given."""
    principal = person if isinstance(person, Principal) else resolve(roles, person)
    authorise(principal, action)
    if isinstance(person, Principal):
        person = principal.who or ""
    if partner_id is not None:
        authorise_partner(principal, partner_id, f"this {action.split()[-1]}")
    return (principal.who or person).strip()


def authorise_impartial(
    roles: Roles | None,
    person: "str | Principal",
    partner_id: str,
    *,
    task: str = "decide its case",
    instead: str = "board member",
) -> None:
    """Someone who also acts for ``partner_id`` does not judge that partner: decide its case, check its claims."""
    principal = person if isinstance(person, Principal) else resolve(roles, person)
    acting_for = set(principal.partner_ids)
    if principal.account and roles is not None and principal.name:
        acting_for |= resolve(roles, principal.name).partner_ids  # an account whose person the contract lists
    if principal.restricted and partner_id in acting_for:
        raise AccessDenied(
            f"{principal.who} acts for {partner_id} (roles.partners) and so cannot {task}: another {instead} must"
        )


def _acts_for(principal: Principal) -> str:
    return f"{principal.who} acts for {', '.join(sorted(principal.partner_ids)) or 'no partner'} only"


def _either(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " or " + items[-1]
