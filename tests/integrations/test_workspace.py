from pathlib import Path

import pytest

from integrations.workspace import Workspace


def test_a_workspace_without_settings_keeps_its_database_inside_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("ALLIANCE_DATABASE_URL", raising=False)
    assert Workspace.at(tmp_path).database_url == f"sqlite:///{tmp_path.resolve() / 'alliance.db'}"


def test_each_workspace_can_name_its_own_database_in_its_env_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("ALLIANCE_DATABASE_URL", raising=False)
    north, south = tmp_path / "north", tmp_path / "south"
    for root, db in ((north, "north"), (south, "south")):
        root.mkdir()
        (root / ".env").write_text(f"ALLIANCE_DATABASE_URL=postgresql+psycopg://app@db/{db}\n")

    assert Workspace.at(north).database_url.endswith("/north")
    assert Workspace.at(south).database_url.endswith("/south")


def test_the_environment_wins_over_the_workspace_env_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / ".env").write_text("ALLIANCE_DATABASE_URL=postgresql+psycopg://app@db/from-file\n")
    monkeypatch.setenv("ALLIANCE_DATABASE_URL", "postgresql+psycopg://app@db/from-env")

    assert Workspace.at(tmp_path).database_url.endswith("/from-env")


def test_a_flow_run_without_a_workspace_uses_alliance_workspace(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ALLIANCE_WORKSPACE", str(tmp_path))
    assert Workspace.for_run(None).root == tmp_path.resolve()
    assert Workspace.for_run(str(tmp_path / "other")).root == (tmp_path / "other").resolve()
    monkeypatch.delenv("ALLIANCE_WORKSPACE")
    monkeypatch.chdir(tmp_path / "..")
    assert Workspace.for_run(None).root == (tmp_path / "..").resolve()


def test_an_empty_variable_in_the_environment_does_not_hide_the_workspace_env_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # `Environment=ALLIANCE_DATABASE_URL=` in a service file must not send the alliance to a new SQLite database.
    (tmp_path / ".env").write_text("ALLIANCE_DATABASE_URL=postgresql+psycopg://app@db/from-file\n")
    monkeypatch.setenv("ALLIANCE_DATABASE_URL", "")

    assert Workspace.at(tmp_path).database_url.endswith("/from-file")


def test_relative_paths_in_a_workspace_settings_are_inside_the_workspace(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A worker runs in the code's directory: two alliances' `ALLIANCE_INBOX=incoming` must not be one folder there.
    for name in ("ALLIANCE_DATABASE_URL", "ALLIANCE_INBOX"):
        monkeypatch.delenv(name, raising=False)
    root = tmp_path / "north"
    root.mkdir()
    (root / ".env").write_text("ALLIANCE_INBOX=incoming\nALLIANCE_DATABASE_URL=sqlite:///data/north.db\n")
    monkeypatch.chdir(tmp_path)

    workspace = Workspace.at(root)
    assert workspace.inbox_location == str(root.resolve() / "incoming")
    assert workspace.database_url == f"sqlite:///{root.resolve() / 'data' / 'north.db'}"
    (root / ".env").write_text("ALLIANCE_INBOX=s3://bucket/north\nALLIANCE_DATABASE_URL=sqlite:////srv/north.db\n")
    assert Workspace.at(root).inbox_location == "s3://bucket/north"
    assert Workspace.at(root).database_url == "sqlite:////srv/north.db"
