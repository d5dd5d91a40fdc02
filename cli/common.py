"""What every command module shares: the typer app and its groups, the options, who the caller is."""

import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

if TYPE_CHECKING:
    from domain.access import Principal

# Before anything imports prefect: no analytics, no telemetry.
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("DO_NOT_TRACK", "1")
# The embedded Prefect server starts in 6-19 s here, longer on a busy machine: do not give up at 20 s.
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")


def group(**options: Any) -> typer.Typer:
    """A command group; help in plain columns (typer's rich panels print `<bool>` after every flag)."""
    return typer.Typer(rich_markup_mode=None, **options)


app = group(
    add_completion=False,
    pretty_exceptions_enable=False,
    no_args_is_help=True,
    help="Administration of an alliance contract.",
)
cycle_app = group(no_args_is_help=True, help="Run the monthly cycle.")
payments_app = group(no_args_is_help=True, help="Payment runs.")
db_app = group(no_args_is_help=True, help="The application database.")
audit_app = group(no_args_is_help=True, help="The audit log.")
period_app = group(no_args_is_help=True, help="Locking and unlocking partners' returns for a period.")
notifications_app = group(help="Notifications (Slack and email): the outbox, sending, retrying.")
app.add_typer(cycle_app, name="cycle")
app.add_typer(payments_app, name="payments")
app.add_typer(db_app, name="db")
app.add_typer(audit_app, name="audit")
app.add_typer(period_app, name="period")
app.add_typer(notifications_app, name="notifications")
review_app = group(no_args_is_help=True, help="The annual review of the worst-performing tenth.")
app.add_typer(review_app, name="review")
checks_app = group(no_args_is_help=True, help="Spot checks of claimed outcomes against evidence.")
app.add_typer(checks_app, name="checks")
YearOpt = Annotated[
    int, typer.Option("--year", help="Contract year: 1 is the first twelve months from contract_start.")
]
PartnerOpt = Annotated[str, typer.Option("--partner", help="The partner's id.")]

WorkspaceOpt = Annotated[
    Path, typer.Option("--workspace", "-w", envvar="ALLIANCE_WORKSPACE", help="Directory holding alliance.yaml.")
]
PeriodOpt = Annotated[str, typer.Option("--period", help="Month, YYYY-MM.")]


def workspace_at(path: Path) -> Any:
    from integrations.workspace import Workspace

    return Workspace.at(path)


def deps_for(path: Path) -> Any:
    """The services on the workspace's database: made once per command (``allow`` has made them already)."""
    from services.deps import production_deps

    made = _OPENED.get(path)
    if made is None:
        made = _OPENED[path] = production_deps(workspace_at(path))
    return made


_CALLER: dict[str, str | None] = {"as": None}  # set by the callback below on every invocation
_OPENED: dict[Path, Any] = {}  # this invocation's deps by --workspace (emptied by the callback below)


@app.callback()
def _options(
    as_: Annotated[
        str | None,
        typer.Option(
            "--as",
            metavar="NAME",
            help="Who you are: a Slack user id or a name under roles in alliance.yaml (default: ALLIANCE_USER).",
        ),
    ] = None,
) -> None:
    _CALLER["as"] = as_
    _OPENED.clear()


def allow(action: str, workspace: Path | None = None) -> "Principal":
    """The caller, once the roles in force allow ``action`` (domain.access.PERMISSIONS); with no roles
    everything is allowed. Refused: AccessDenied, one line, exit 4.

    The roles in force are the database's record (services/roles.py), not the alliance.yaml that --workspace
    names: a copy without ``roles:`` pointed at the real database (ALLIANCE_DATABASE_URL) gives nobody more. An
    officer of the roles in force records alliance.yaml's roles when they differ (edited since)."""
    from domain.access import Role, allowed_roles, authorise, resolve
    from domain.errors import AccessDenied
    from integrations.workspace import Settings

    who = _CALLER["as"] or Settings().user
    if workspace is None or allowed_roles(action) is None:  # nothing of the alliance's is read or changed
        return resolve(workspace_at(workspace).load_contract().roles if workspace is not None else None, who)
    deps = deps_for(workspace)
    principal = resolve(deps.contract.roles, who)
    edited = deps.workspace.load_contract().roles
    from services import roles

    if roles.same(edited, deps.contract.roles):
        authorise(principal, action)
        return principal
    if Role.officer in principal.roles:
        roles.record(deps.engine, edited, by=principal.who or "", at=deps.clock())
        deps.contract = deps.contract.model_copy(update={"roles": edited})
        principal = resolve(edited, who)
        authorise(principal, action)
        return principal
    try:
        authorise(principal, action)
    except AccessDenied as refused:
        raise AccessDenied(
            f"{refused} (the roles in force are those recorded in the database: alliance.yaml's differ, and an "
            "officer's next command records them)"
        ) from None
    return principal


def group_workspace(ctx: typer.Context, workspace: Path) -> Path:
    """The subcommand's --workspace, else one given before the subcommand."""
    return workspace if workspace != Path(".") else (ctx.obj or workspace)


def echo(message: object = "", *, err: bool = False, nl: bool = True) -> None:
    """Every line the CLI prints: its line breaks kept, any control character in it (a partner's text may carry
    one) shown escaped, so nothing printed can act on the terminal (domain.text)."""
    from domain.text import printable_lines

    typer.echo(printable_lines(message), err=err, nl=nl)
