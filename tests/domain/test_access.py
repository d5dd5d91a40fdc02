"""Roles in the contract and the one access check: who may run what, and see whose data."""

import pytest

from domain.access import (
    PERMISSIONS,
    Role,
    authorise,
    authorise_partner,
    authorise_person,
    recorded_name,
    refuse_other_partners,
    resolve,
)
from domain.contract import Contract, Roles, parse_contract
from domain.errors import AccessDenied, ConfigError
from integrations.workspace import parse_yaml
from tests.conftest import EXAMPLE

ROLES = """
roles:
  officers: [U01OFFICER, "Jo Bloggs"]
  board: [U0CHAIR, "Sam Chair", "Jo Bloggs"]
  partners: {harbour-trust: [U0HARBOUR, "Ann Harbour"], city-mind: ["Raj Patel", "Ann Harbour"]}
"""

PEOPLE = ["U01OFFICER", "Jo Bloggs", "U0CHAIR", "Sam Chair", "U0HARBOUR", "Ann Harbour", "Raj Patel"]


def with_roles(text: str = ROLES) -> Contract:
    return parse_contract(parse_yaml(EXAMPLE.read_text() + text, "test.yaml"), source="test.yaml")


def problems_of(text: str) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        with_roles(text)
    return caught.value.problems


def roles() -> Roles:
    found = with_roles().roles
    assert found is not None
    return found


def denied(action: str, who: str | None) -> str:
    with pytest.raises(AccessDenied) as caught:
        authorise(resolve(roles(), who), action)
    return str(caught.value)


def test_the_example_contract_has_no_roles_and_one_operator_may_do_everything(contract: Contract) -> None:
    assert contract.roles is None
    operator = resolve(contract.roles, None)
    for action in PERMISSIONS:
        authorise(operator, action)
    assert operator.sees("city-mind") and operator.acts_for("city-mind")


def test_a_person_is_found_by_slack_id_or_name_whatever_the_case_and_spacing() -> None:
    ann = resolve(roles(), "  ann   HARBOUR ")
    assert (ann.who, ann.roles, ann.partner_ids) == (
        "Ann Harbour",
        frozenset({Role.partner}),
        frozenset({"harbour-trust", "city-mind"}),
    )
    jo = resolve(roles(), "jo bloggs")
    assert jo.roles == {Role.officer, Role.board} and not jo.partner_ids
    assert resolve(roles(), "U0HARBOUR").partner_ids == {"harbour-trust"}


def test_a_role_list_may_not_name_an_unknown_partner_and_the_problem_names_its_path() -> None:
    text = ROLES.replace("city-mind:", "city-minds:")
    assert problems_of(text) == [
        "roles.partners.city-minds: is not a partner id in this contract "
        "(partners: city-mind, harbour-trust, northfield-works)"
    ]


def test_role_lists_are_checked_with_their_key_paths() -> None:
    text = """
roles:
  officers: []
  board: ["Sam Chair", "sam  chair", ""]
  partners: {harbour-trust: ["Ann Harbour", "Ann Harbour"]}
  auditors: [X]
"""
    assert problems_of(text) == [
        "roles.officers: must have at least 1 item(s)",
        "roles.board[2]: must not be empty",
        "roles.auditors: is not a known key",
    ]
    duplicates = problems_of(ROLES.replace('"Sam Chair"', '"Sam Chair", "SAM CHAIR"'))
    assert duplicates == ["roles.board: lists SAM CHAIR, Sam Chair more than once"]


def test_the_commented_roles_in_the_example_contract_are_valid_when_uncommented() -> None:
    text = EXAMPLE.read_text()
    block = text[text.index("# roles:") :]
    uncommented = "\n".join(line.removeprefix("# ") for line in block.splitlines())
    example = with_roles("\n" + uncommented + "\n").roles
    assert example is not None and example.partners["harbour-trust"] == ["U0HARBOUR", "Ann Harbour"]


def test_roles_do_not_change_the_contract_fingerprint(contract: Contract) -> None:
    # A payment run records the fingerprint in its inputs: a new officer must not make a new run version.
    assert with_roles().fingerprint() == contract.fingerprint()


@pytest.mark.parametrize(
    ("action", "allowed"),
    [
        ("payments approve", {"U01OFFICER", "Jo Bloggs"}),
        ("review decide", {"U0CHAIR", "Sam Chair", "Jo Bloggs"}),
        ("review reply", {"U0HARBOUR", "Ann Harbour", "Raj Patel"}),
        ("payments show", set(PEOPLE)),
        ("validate", {"U01OFFICER", "Jo Bloggs", "U0HARBOUR", "Ann Harbour", "Raj Patel"}),
        ("findings", {*PEOPLE, "Mallory", None}),
    ],
)
def test_each_action_is_for_its_roles_only(action: str, allowed: set[str | None]) -> None:
    for who in [*PEOPLE, "Mallory", None]:
        principal = resolve(roles(), who)
        if who in allowed:
            authorise(principal, action)
        else:
            with pytest.raises(AccessDenied):
                authorise(principal, action)


def test_a_refusal_says_which_list_the_caller_is_missing_from() -> None:
    assert denied("payments approve", "U0HARBOUR") == (
        "`alliance payments approve` is for officers; U0HARBOUR is not listed under roles.officers in alliance.yaml"
    )
    assert denied("review show", "Mallory") == (
        "`alliance review show` is for officers, the board or partners; "
        "Mallory is not listed under roles in alliance.yaml"
    )
    assert denied("review decide", None) == (
        "`alliance review decide` is for the board; say who you are with --as NAME or ALLIANCE_USER "
        "(listed under roles in alliance.yaml)"
    )


def test_a_partner_acts_for_and_sees_only_its_own_partners() -> None:
    raj = resolve(roles(), "Raj Patel")
    authorise_partner(raj, "city-mind", "this reply")
    with pytest.raises(AccessDenied, match="^Raj Patel acts for city-mind only; this reply is for harbour-trust$"):
        authorise_partner(raj, "harbour-trust", "this reply")
    assert raj.sees("city-mind") and not raj.sees("harbour-trust") and not raj.sees_all
    assert str(refuse_other_partners(raj, "a.xlsx")) == (
        "Raj Patel acts for city-mind only; a.xlsx is another partner's, so it is not shown"
    )


def test_officers_and_the_board_see_every_partner_but_act_for_none() -> None:
    chair = resolve(roles(), "Sam Chair")
    assert chair.sees_all and chair.sees("city-mind") and not chair.acts_for("city-mind")


def test_with_roles_a_command_records_the_caller_and_refuses_another_name() -> None:
    jo = resolve(roles(), "JO BLOGGS")
    assert recorded_name(jo, None) == "Jo Bloggs"
    assert recorded_name(jo, "jo bloggs") == "Jo Bloggs"
    with pytest.raises(AccessDenied, match="you act as Jo Bloggs; --by Sam Chair would record someone else"):
        recorded_name(jo, "Sam Chair")
    assert recorded_name(resolve(None, None), "Ada Officer") == "Ada Officer"
    assert recorded_name(resolve(None, "Ada"), None) == "Ada"


def test_a_service_records_only_a_person_holding_the_role() -> None:
    assert authorise_person(roles(), "sam chair", "review decide") == "Sam Chair"
    with pytest.raises(AccessDenied, match="is for the board; Board .chair. is not listed under roles"):
        authorise_person(roles(), "Board (chair)", "review decide")
    assert authorise_person(roles(), "Raj Patel", "review reply", partner_id="city-mind") == "Raj Patel"
    with pytest.raises(AccessDenied, match="Raj Patel acts for city-mind only; this reply is for harbour-trust"):
        authorise_person(roles(), "Raj Patel", "review reply", partner_id="harbour-trust")
    assert authorise_person(None, "Board (chair)", "review decide") == "Board (chair)"


def test_every_permission_names_known_roles() -> None:
    for action, allowed in PERMISSIONS.items():
        assert action == action.strip() and (allowed is None or (allowed and allowed <= set(Role)))


# --- Issue 31, case 15: Slack user ids are case-sensitive ---------------------------------------------------------


def test_a_slack_user_id_matches_only_as_slack_writes_it() -> None:
    assert resolve(roles(), " U0HARBOUR ").partner_ids == {"harbour-trust"}
    for typed in ("u0harbour", "U0harbour", "u0HARBOUR"):
        someone = resolve(roles(), typed)
        assert (someone.roles, someone.partner_ids) == (frozenset(), frozenset()), typed
        with pytest.raises(AccessDenied):
            authorise(someone, "review reply")
    assert resolve(roles(), "u01officer").roles == frozenset()
    harbour = resolve(roles(), "U0HARBOUR")
    with pytest.raises(AccessDenied, match="would record someone else"):
        recorded_name(harbour, "u0harbour")
    assert resolve(roles(), "ANN harbour").partner_ids == {"harbour-trust", "city-mind"}  # names: any case still


def test_a_slack_user_id_not_in_capitals_in_the_contract_is_refused_with_how_to_write_it() -> None:
    text = ROLES.replace("U01OFFICER", "u01officer").replace("[U0HARBOUR", "[U0harbour")
    assert problems_of(text) == [
        "roles.officers[0]: u01officer looks like a Slack user id, and Slack user ids are in capitals (U01OFFICER): "
        "write it as Slack shows it, or give the person's name",
        "roles.partners.harbour-trust[0]: U0harbour looks like a Slack user id, and Slack user ids are in capitals "
        "(U0HARBOUR): write it as Slack shows it, or give the person's name",
    ]
    contract = EXAMPLE.read_text().replace("review: {", "review: {board_chair: w0chair, ")
    with pytest.raises(ConfigError) as caught:
        parse_contract(parse_yaml(contract, "test.yaml"), source="test.yaml")
    assert caught.value.problems == [
        "review.board_chair: w0chair looks like a Slack user id, and Slack user ids are in capitals (W0CHAIR): "
        "write it as Slack shows it, or give the person's name"
    ]
    for name in ("Uma", "Will", "walter", "Wu Li", "u", "W2 Lettings Ltd"):  # names that begin like an id are names
        listed = with_roles(ROLES.replace('"Raj Patel"', f'"{name}"')).roles
        assert listed is not None and resolve(listed, name.swapcase()).partner_ids == {"city-mind"}, name
