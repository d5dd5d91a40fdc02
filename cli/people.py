"""People and the portal: officers' accounts commands, and `alliance web` to serve the portal."""

from pathlib import Path
from typing import Annotated

import typer

from cli.common import WorkspaceOpt, allow, app, deps_for, echo, group

users_app = group(no_args_is_help=True, help="Accounts of the people who sign in to the portal.")
app.add_typer(users_app, name="users")

EmailOpt = Annotated[str, typer.Option("--email", help="The person's email address (their sign-in).")]


@users_app.command("invite")
def users_invite(
    email: EmailOpt,
    role: Annotated[str, typer.Option("--role", help="partner, officer or board.")],
    name: Annotated[str, typer.Option("--name", help="The person's name, as shown to others.")],
    partner: Annotated[str | None, typer.Option("--partner", help="For a partner's account: the partner's id.")] = None,
    workspace: WorkspaceOpt = Path("."),
) -> None:
    """Create an account and email an invitation to set a password (the link works once, for 48 hours)."""
    principal = allow("users invite", workspace)
    from services.accounts import invite

    invited = invite(deps_for(workspace), email=email, name=name, role=role, partner_id=partner, by=principal)
    account = invited.account
    what = "a new invitation for" if invited.again else "account created for"
    for_whom = f" for {account.partner_id}" if account.partner_id else ""
    echo(f"{what} {account.email} ({account.role}{for_whom})")
    echo(f"invitation link (emailed; works once, for 48 hours): {invited.link}")


@users_app.command("list")
def users_list(workspace: WorkspaceOpt = Path(".")) -> None:
    """Every account: email, role, partner, whether a password is set, disabled."""
    principal = allow("users list", workspace)
    from services.accounts import list_accounts

    found = list_accounts(deps_for(workspace), by=principal)
    for a in found:
        state = "disabled" if a.disabled_at else ("active" if a.password_hash else "invited")
        echo(f"{a.email:40} {a.role:8} {a.partner_id or '':24} {state:9} {a.name}")
    if not found:
        echo("no accounts yet: `alliance users invite --email ... --role ... --name ...`")


@users_app.command("disable")
def users_disable(email: EmailOpt, workspace: WorkspaceOpt = Path(".")) -> None:
    """Stop an account signing in: its sessions end now and its links stop working."""
    principal = allow("users disable", workspace)
    from services.accounts import disable

    ended = disable(deps_for(workspace), email=email, by=principal)
    echo(f"{email.strip().lower()} is disabled; {ended} session(s) ended")


@users_app.command("reset")
def users_reset(email: EmailOpt, workspace: WorkspaceOpt = Path(".")) -> None:
    """Email someone a new link to set their password (people can also ask on the sign-in page)."""
    principal = allow("users reset", workspace)
    from services.accounts import reset_link

    link = reset_link(deps_for(workspace), email=email, by=principal)
    echo(f"link (emailed; works once): {link}")


@app.command()
def web(
    workspace: WorkspaceOpt = Path("."),
    host: Annotated[
        str, typer.Option(help="The address to listen on (behind a reverse proxy with TLS).")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="The port to listen on.")] = 8000,
    checkers: Annotated[int, typer.Option(min=1, max=32, help="Returns checked at once in this process.")] = 2,
) -> None:
    """Serve the portal: partners sign in, get templates, upload returns and read their feedback."""
    allow("web", workspace)
    import uvicorn

    from flows.launch import PrefectRuns
    from web.app import create_app

    application = create_app(deps=deps_for(workspace), checker_threads=checkers, runs=PrefectRuns())
    echo(f"the portal is at http://{host}:{port}/ (stop with Ctrl+C)")
    # Behind a reverse proxy on this machine: its X-Forwarded-For/Proto are trusted (uvicorn's default: 127.0.0.1).
    uvicorn.run(application, host=host, port=port, proxy_headers=True, log_level="warning")
