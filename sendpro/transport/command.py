"""The ``sendpro submit`` and ``sendpro retrieve`` commands (registered on the CLI group by ``sendpro.cli``).

Exit codes: 0 every file went through, 1 a file was refused or failed, 2 a
conduct or program stop (another session running, three failed logins, a bad
profile, no secret).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from sendpro import api
from sendpro.errors import SendproError
from sendpro.ledger.db import Ledger
from sendpro.profiles import load_profile
from sendpro.transport.config import transport_config
from sendpro.transport.credentials import load_credentials
from sendpro.transport.session import SubmitResult
from sendpro.transport.session import retrieve as run_retrieve
from sendpro.transport.session import submit as run_submit

EXIT_OK, EXIT_REFUSED, EXIT_STOP = 0, 1, 2

_profile_option = click.option(
    "--profile", default="masshealth-sendpro", show_default=True, help="Profile whose [transport] table is used."
)
_ledger_option = click.option(
    "--ledger",
    "ledger_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="The ledger (default: $SENDPRO_LEDGER, else the user's state directory).",
)


def _open(ledger_path: Path | None) -> Ledger:
    """The ledger the other ledger commands use: ``--ledger``, else the default; never created here."""
    return api.open_ledger(api.default_ledger(ledger_path))


def _stop(exc: SendproError) -> None:
    click.echo(f"sendpro: {exc.code}: {exc}", err=True)
    sys.exit(EXIT_STOP)


@click.command()
@click.argument("files", nargs=-1, type=click.Path(path_type=Path))
@click.option("--run", "run_id", type=int, default=None, help="Send the files of this run (instead of FILES).")
@_profile_option
@_ledger_option
@click.option("--resubmit", is_flag=True, help="Send a file again although the ledger records it as sent.")
@click.option("--logins-checked", is_flag=True, help="A person checked the credentials: reset the failed logins.")
@click.option("--dry-run", is_flag=True, help="List what would be sent, and why the others would not; send nothing.")
@click.option("--json", "as_json", is_flag=True, help="Print the outcome as JSON.")
def submit(
    files: tuple[Path, ...],
    run_id: int | None,
    profile: str,
    ledger_path: Path | None,
    resubmit: bool,
    logins_checked: bool,
    dry_run: bool,
    as_json: bool,
) -> None:
    """Send the files of a run (--run N) or the FILES named, through the profile's transport.

    Only files this ledger recorded, from complete runs, unchanged and not sent
    before (unless --resubmit). The secret comes from the environment, the
    keyring or an owner-only file named in [transport], never the command line.
    """
    if (run_id is None) == (not files):
        raise click.UsageError("name either --run N or FILES")
    try:
        prof = load_profile(profile)
        config = transport_config(prof)
        with _open(ledger_path) as ledger:
            result = run_submit(
                ledger,
                prof,
                config,
                lambda: load_credentials(config),
                run_id=run_id,
                paths=list(files),
                resubmit=resubmit,
                logins_checked=logins_checked,
                dry_run=dry_run,
            )
    except SendproError as exc:
        _stop(exc)
        return
    _print_submit(result, as_json)
    sys.exit(EXIT_OK if result.ok else EXIT_REFUSED)


def _print_submit(result: SubmitResult, as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps(result.to_dict(), indent=2))
        return
    if not result.files:
        click.echo("nothing to send")
    for f in result.files:
        detail = f" (PayloadID {f.payload_id}, {f.code}, {f.attempts} attempt(s))" if f.payload_id else ""
        click.echo(f"{f.path}: {f.status}{detail}" + (f": {f.reason}" if f.reason else ""))


@click.command()
@_profile_option
@_ledger_option
@click.option("--logins-checked", is_flag=True, help="A person checked the credentials: reset the failed logins.")
@click.option("--json", "as_json", is_flag=True, help="Print the outcome as JSON.")
def retrieve(profile: str, ledger_path: Path | None, logins_checked: bool, as_json: bool) -> None:
    """Fetch the responses waiting (999, 277CA, TA1), ingest them as `sendpro ack` does, and keep each under its run.

    A file fetched before changes nothing. Exit 1 when a file was refused.
    """
    try:
        prof = load_profile(profile)
        config = transport_config(prof)
        with _open(ledger_path) as ledger:
            result = run_retrieve(ledger, config, lambda: load_credentials(config), logins_checked=logins_checked)
    except SendproError as exc:
        _stop(exc)
        return
    if as_json:
        click.echo(json.dumps(result.to_dict(), indent=2))
    else:
        if not result.files:
            click.echo("nothing waiting")
        for f in result.files:
            where = f" -> {f.stored}" if f.stored else ""
            click.echo(f"{f.name}: {f.status}{where}" + (f": {f.message}" if f.message else ""))
    sys.exit(EXIT_OK if result.ok else EXIT_REFUSED)
