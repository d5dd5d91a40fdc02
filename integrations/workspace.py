"""A workspace is a directory holding alliance.yaml; everything else has a default inside it."""

import os
import re
import secrets
import threading
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
AUDIT_HEAD_FILE = ".audit-head"  # the audit chain's newest entry as this workspace last saw it (outside the database)
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
    # The portal (web/): the key that signs its links and forms, and the address people reach it at.
    secret_key: str | None = Field(default=None, repr=False)
    base_url: str | None = None  # e.g. https://returns.example.org (links in emails; cookies Secure when https)
    # Email (integrations/email): without a host, emails wait in the outbox like Slack messages without a token.
    smtp_host: str | None = None
    smtp_port: int = 587
    smtp_security: str = "starttls"  # starttls | tls (implicit, port 465) | none (a local relay only)
    smtp_username: str | None = None
    smtp_password: str | None = Field(default=None, repr=False)
    smtp_from: str = "alliance@localhost"


@dataclass(frozen=True)
class Smtp:
    host: str
    port: int = 587
    security: str = "starttls"
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    sender: str = "alliance@localhost"


SECRET_KEY_FILE = ".secret-key"  # the portal's key when ALLIANCE_SECRET_KEY is not set (made on first use, 0600)
SECRET_KEY_MIN = 32


@dataclass(frozen=True)
class Workspace:
    root: Path
    database_url: str
    inbox_url: str | None = None
    slack_token: str | None = field(default=None, repr=False)
    slack_base_url: str | None = None
    secret_key: str | None = field(default=None, repr=False)
    base_url: str | None = None
    smtp: Smtp | None = None

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
            secret_key=settings.secret_key,
            base_url=settings.base_url.rstrip("/") if settings.base_url else None,
            smtp=_smtp(settings),
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

    @property
    def audit_head_file(self) -> Path:
        return self.root / AUDIT_HEAD_FILE

    def write_audit_head(self, entry_id: int, digest: str) -> None:
        """Write down the audit chain's head after a commit that appended to it: a whole file, put in place at once
        (a reader never sees half of one); the last writer's entry is kept, which is in the chain."""
        path = self.audit_head_file
        partial = path.with_name(f".{path.name}.{os.getpid()}-{threading.get_ident()}.partial")
        try:
            partial.write_text(f"{entry_id} {digest}\n", encoding="ascii")
            os.replace(partial, path)
        except OSError:
            partial.unlink(missing_ok=True)
            raise

    def audit_head(self) -> tuple[int, str] | None:
        """(entry id, hash) of the chain's head as last written down here; None if nothing was (or it is unreadable)."""
        try:
            words = self.audit_head_file.read_text(encoding="ascii").split()
        except (OSError, UnicodeDecodeError):
            return None
        if len(words) != 2 or not words[0].isdigit() or not re.fullmatch(r"[0-9a-f]{64}", words[1]):
            return None
        return int(words[0]), words[1]

    @property
    def uploads(self) -> Path:
        """Where portal uploads are streamed before they are complete and moved into the inbox."""
        return self.root / ".uploads"

    def signing_key(self) -> bytes:
        """The portal's secret key: ALLIANCE_SECRET_KEY, else the workspace's own key file, made once (0600)."""
        if self.secret_key:
            if len(self.secret_key) < SECRET_KEY_MIN:
                raise ConfigError(f"ALLIANCE_SECRET_KEY must be at least {SECRET_KEY_MIN} characters (a random string)")
            return self.secret_key.encode()
        path = self.root / SECRET_KEY_FILE
        try:
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            key = path.read_text(encoding="ascii").strip()
            if len(key) < SECRET_KEY_MIN:
                raise ConfigError(f"{path} holds no usable key: delete it (every link and session ends)") from None
            return key.encode()
        except OSError as exc:
            raise ConfigError(f"cannot create {path}: {exc.strerror}; set ALLIANCE_SECRET_KEY instead") from None
        key = secrets.token_urlsafe(48)
        with os.fdopen(descriptor, "w", encoding="ascii") as handle:
            handle.write(key + "\n")
        return key.encode()


def _smtp(settings: Settings) -> Smtp | None:
    if not settings.smtp_host:
        return None
    if settings.smtp_security not in ("starttls", "tls", "none"):
        raise ConfigError(f"ALLIANCE_SMTP_SECURITY must be starttls, tls or none, not {settings.smtp_security!r}")
    return Smtp(
        host=settings.smtp_host,
        port=settings.smtp_port,
        security=settings.smtp_security,
        username=settings.smtp_username,
        password=settings.smtp_password,
        sender=settings.smtp_from,
    )


def _sqlite_in(root: Path, url: str) -> str:
    """A SQLite URL whose file path is relative names a file in the workspace, not in the worker's directory."""
    match = re.match(r"^(sqlite(?:\+\w+)?:///)([^/?].*)$", url)
    if match is None or match.group(2).startswith(":memory:"):
        return url
    return f"{match.group(1)}{root / match.group(2)}"


class _DecimalLoader(yaml.SafeLoader):
    """YAML loader whose numbers with a fraction become exact Decimals, never floats; a key given twice in one mapping
    is refused (PyYAML keeps the last silently: a second ``annual_core`` would pay what no one meant)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: dict[Any, int] = {}
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue
            key = self.construct_object(key_node, deep=True)
            try:
                first = seen.get(key)
            except TypeError:  # an unhashable key: SafeLoader refuses it in its own words below
                break
            if first is not None:
                problem = f"the key {key!r} is given twice (first at line {first}): keep one"
                raise yaml.constructor.ConstructorError(None, None, problem, key_node.start_mark)
            seen[key] = key_node.start_mark.line + 1
        return super().construct_mapping(node, deep=deep)


def _decimal(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> Decimal | str:
    text = str(loader.construct_scalar(node)).replace("_", "")
    try:
        return Decimal(text)
    except ArithmeticError:
        return text  # .inf / .nan: left as text for the validator to refuse


def _integer(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> int | str:
    """Decimal digits only: YAML 1.1 reads ``1:30`` as 90 (base 60), ``010`` as 8, ``0x1F`` as 31. Such text is
    handed on as it was written, for the validator to refuse where a number is wanted ("not a valid number")."""
    text = str(loader.construct_scalar(node))
    digits = text.replace("_", "")
    if re.fullmatch(r"[-+]?[0-9]+", digits) and not re.fullmatch(r"[-+]?0[0-9]+", digits):
        return int(digits)
    return text


_DecimalLoader.add_constructor("tag:yaml.org,2002:float", _decimal)
_DecimalLoader.add_constructor("tag:yaml.org,2002:int", _integer)


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
