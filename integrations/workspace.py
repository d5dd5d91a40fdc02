"""A workspace is a directory holding alliance.yaml; everything else has a default inside it."""

import re
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import yaml
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from domain.contract import Contract, parse_contract
from domain.errors import ConfigError

CONTRACT_FILE = "alliance.yaml"
ENV_FILE = ".env"  # ALLIANCE_* settings of this workspace (the environment wins)


class Settings(BaseSettings):
    """Environment settings (prefix ALLIANCE_), read once at the edge."""

    # An empty variable (`Environment=ALLIANCE_DATABASE_URL=`) is unset: it must not hide the workspace's `.env`.
    model_config = SettingsConfigDict(env_prefix="ALLIANCE_", extra="ignore", env_ignore_empty=True)

    workspace: str | None = None  # the workspace a deployed flow uses when its run names none
    database_url: str | None = None
    inbox: str | None = None  # a folder or an fsspec URL; default: the workspace's inbox/ folder
    require_services: bool = False
    debug: bool = False
    slack_bot_token: str | None = Field(default=None, validation_alias="SLACK_BOT_TOKEN", repr=False)
    slack_base_url: str | None = None  # another Web API address (a local test server)
    user: str | None = None  # who runs the command line (ALLIANCE_USER), when `--as` is not given


@dataclass(frozen=True)
class Workspace:
    root: Path
    database_url: str
    inbox_url: str | None = None
    slack_token: str | None = field(default=None, repr=False)
    slack_base_url: str | None = None

    @classmethod
    def at(cls, root: Path | str, settings: Settings | None = None) -> "Workspace":
        """The workspace at ``root``; its settings from the environment, else from ``root/.env`` (so one worker
        can run several alliances, each with its own database)."""
        path = Path(root).resolve()
        settings = settings or Settings(_env_file=path / ENV_FILE)  # type: ignore[call-arg]
        url = _sqlite_in(path, settings.database_url) if settings.database_url else f"sqlite:///{path / 'alliance.db'}"
        inbox = settings.inbox
        return cls(
            root=path,
            database_url=url,
            inbox_url=str(path / Path(inbox).expanduser()) if inbox and "://" not in inbox else inbox,
            slack_token=settings.slack_bot_token,
            slack_base_url=settings.slack_base_url,
        )

    @classmethod
    def for_run(cls, root: str | None) -> "Workspace":
        """A flow run's workspace: the one it was given, else ALLIANCE_WORKSPACE, else the current directory."""
        return cls.at(root or Settings().workspace or ".")

    @property
    def inbox_location(self) -> str:
        return self.inbox_url or str(self.inbox)

    @property
    def archive(self) -> Path:
        """Original bytes of every file received, read-only, by SHA-256."""
        return self.root / "archive"

    @property
    def contract_path(self) -> Path:
        return self.root / CONTRACT_FILE

    @property
    def inbox(self) -> Path:
        return self.root / "inbox"

    @property
    def out(self) -> Path:
        return self.root / "out"

    @property
    def templates_dir(self) -> Path:
        return self.out / "templates"

    @property
    def feedback_dir(self) -> Path:
        return self.out / "feedback"

    @property
    def statements_dir(self) -> Path:
        return self.out / "statements"

    @property
    def reviews_dir(self) -> Path:
        """Annual reviews: funnel plots, evidence packs, partners' replies (out/reviews/<year>/)."""
        return self.out / "reviews"

    def load_contract(self) -> Contract:
        return load_contract(self.contract_path)


def _sqlite_in(root: Path, url: str) -> str:
    """A SQLite URL whose file path is relative names a file in the workspace, not in the worker's directory."""
    match = re.match(r"^(sqlite(?:\+\w+)?:///)([^/?].*)$", url)
    if match is None or match.group(2).startswith(":memory:"):
        return url
    return f"{match.group(1)}{root / match.group(2)}"


class _DecimalLoader(yaml.SafeLoader):
    """YAML loader whose numbers with a fraction become exact Decimals, never floats."""


def _decimal(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> Decimal | str:
    text = str(loader.construct_scalar(node)).replace("_", "")
    try:
        return Decimal(text)
    except ArithmeticError:
        return text  # .inf / .nan: left as text for the validator to refuse


_DecimalLoader.add_constructor("tag:yaml.org,2002:float", _decimal)


def parse_yaml(text: str, source: str) -> Any:
    try:
        return yaml.load(text, Loader=_DecimalLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError(f"{source} is not valid YAML{where}: {problem}") from None


def load_contract(path: Path) -> Contract:
    if not path.is_file():
        raise ConfigError(
            f"no {CONTRACT_FILE} in {path.parent}: run the command in a workspace or pass --workspace DIR"
        )
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read {path}: {exc}") from None
    return parse_contract(parse_yaml(text, str(path)), source=str(path))
