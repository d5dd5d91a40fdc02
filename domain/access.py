"""Who may do what (DESIGN.md section 7): the contract's ``roles`` section, one table, one check. Pure.

Without ``roles`` one operator does everything (the embedded default, the demo). With it, every
command is for the roles :data:`PERMISSIONS` names, an unknown or unnamed caller is refused for
each of them, and a partner sees and acts on its own data only. The caller is who the command line
says (``--as`` or ALLIANCE_USER): this separates what each person's commands may do; it is not a
login, which is left to whoever gives people a shell, a Slack app or the Prefect UI.
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
}

_LIST = {Role.officer: "roles.officers", Role.board: "roles.board", Role.partner: "roles.partners"}
_WHO = {Role.officer: "officers", Role.board: "the board", Role.partner: "partners"}


@dataclass(frozen=True)
class Principal:
    """Who is calling, as the contract knows them."""

    who: str | None  # as listed in the contract (else as given); None: nobody said
    roles: frozenset[Role]
    partner_ids: frozenset[str]  # the partners they act for
    restricted: bool  # False: the contract has no roles and the caller may do everything

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


def command(action: str) -> str:
    return f"`alliance {action}`"


def authorise(principal: Principal, action: str) -> None:
    """Refuse, in words the caller can act on, an action their roles do not allow."""
    if action not in PERMISSIONS:
        raise KeyError(f"{action!r} is not in domain.access.PERMISSIONS")
    allowed = PERMISSIONS[action]
    if not principal.restricted or allowed is None or principal.roles & allowed:
        return
    ordered = [role for role in Role if role in allowed]
    needed = f"{command(action)} is for {_either([_WHO[r] for r in ordered])}"
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


def authorise_person(roles: Roles | None, person: str, action: str, partner_id: str | None = None) -> str:
    """For a service recording ``person`` as the one who acted (the Prefect form's "decided by", a
    ``--by``): with roles, they must hold the action's role (and act for ``partner_id``). Returns the
    name to record: as listed in the contract, or as given when there are no roles."""
    principal = resolve(roles, person)
    authorise(principal, action)
    if partner_id is not None:
        authorise_partner(principal, partner_id, f"this {action.split()[-1]}")
    return (principal.who or person).strip()


def authorise_impartial(
    roles: Roles | None, person: str, partner_id: str, *, task: str = "decide its case", instead: str = "board member"
) -> None:
    """Someone who also acts for ``partner_id`` does not judge that partner: decide its case, check its claims."""
    principal = resolve(roles, person)
    if principal.restricted and partner_id in principal.partner_ids:
        raise AccessDenied(
            f"{principal.who} acts for {partner_id} (roles.partners) and so cannot {task}: another {instead} must"
        )


def _acts_for(principal: Principal) -> str:
    return f"{principal.who} acts for {', '.join(sorted(principal.partner_ids)) or 'no partner'} only"


def _either(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " or " + items[-1]
