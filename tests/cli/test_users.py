"""`alliance users`: an officer creates accounts, lists, resets and disables them; every refusal is one clear line."""

from pathlib import Path

from integrations.workspace import Workspace
from tests.cli.test_cli import alliance, assert_one_clear_line


def test_an_officer_invites_lists_resets_and_disables_accounts(workspace: Workspace) -> None:
    root = workspace.root
    invited = alliance(
        "users",
        "invite",
        "--email",
        "Ann@Harbour.org",
        "--role",
        "partner",
        "--partner",
        "harbour-trust",
        "--name",
        "Ann Harbour",
        cwd=root,
    )
    assert invited.returncode == 0, invited.stderr
    assert "account created for ann@harbour.org (partner for harbour-trust)" in invited.stdout
    assert "/account/set-password/" in invited.stdout
    board = alliance("users", "invite", "--email", "sam@board.org", "--role", "board", "--name", "Sam", cwd=root)
    assert board.returncode == 0
    listed = alliance("users", "list", cwd=root).stdout.splitlines()
    assert [line.split()[:4] for line in listed] == [
        ["sam@board.org", "board", "invited", "Sam"],
        ["ann@harbour.org", "partner", "harbour-trust", "invited"],
    ]
    reset = alliance("users", "reset", "--email", "ann@harbour.org", cwd=root)
    assert reset.returncode == 0 and "/account/set-password/" in reset.stdout  # not set yet: a new invitation
    disabled = alliance("users", "disable", "--email", "ann@harbour.org", cwd=root)
    assert disabled.returncode == 0 and "is disabled; 0 session(s) ended" in disabled.stdout
    assert "disabled" in alliance("users", "list", cwd=root).stdout


def test_a_bad_account_is_one_clear_line(workspace: Workspace, tmp_path: Path) -> None:
    root = workspace.root
    cases = [
        (("--email", "not-an-address", "--role", "officer", "--name", "X"), "is not an email address"),
        (("--email", "a@b.org", "--role", "mayor", "--name", "X"), "--role must be partner, officer or board"),
        (("--email", "a@b.org", "--role", "partner", "--name", "X"), "needs --partner"),
        (("--email", "a@b.org", "--role", "partner", "--partner", "harbor-trust", "--name", "X"), "harbour-trust"),
        (
            ("--email", "a@b.org", "--role", "officer", "--partner", "harbour-trust", "--name", "X"),
            "leave --partner out",
        ),
    ]
    for args, words in cases:
        assert_one_clear_line(alliance("users", "invite", *args, cwd=root), 2, words)
    alliance("users", "invite", "--email", "a@b.org", "--role", "officer", "--name", "A", cwd=root)
    assert_one_clear_line(
        alliance("users", "invite", "--email", "A@B.org", "--role", "board", "--name", "A", cwd=root),
        2,
        "already has an account",
    )
    assert_one_clear_line(alliance("users", "disable", "--email", "nobody@b.org", cwd=root), 2, "no account for")


def test_with_roles_only_an_officer_manages_accounts(workspace: Workspace) -> None:
    text = workspace.contract_path.read_text() + "roles:\n  officers: [Olive]\n  partners: {harbour-trust: [Ann]}\n"
    workspace.contract_path.write_text(text)
    refused = alliance("--as", "Ann", "users", "list", cwd=workspace.root)
    assert_one_clear_line(refused, 4, "`alliance users list` is for officers")
    assert alliance("--as", "Olive", "users", "list", cwd=workspace.root).returncode == 0
