"""`jetmatch audit verify`: check the decisions' hash chain."""

from __future__ import annotations

import click

from matcher.cli._app import AppContext, emit_json, pass_app

__all__ = ["audit"]


@click.group()
def audit() -> None:
    """Check the audit trail of coordinators' decisions."""


@audit.command("verify")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@pass_app
def verify(app: AppContext, as_json: bool) -> None:
    """Walk the decisions' hash chain: name the first broken link (exit 1) or say the trail is whole."""
    from matcher.audit import verify as verify_chain

    app.ensure_schema()
    with app.session() as session:
        result = verify_chain(session)
    if as_json:
        emit_json(result)
    elif result["ok"]:
        click.echo(f"the audit trail is whole: {result['decisions']} decisions, every link checks")
    else:
        broken = result["first_broken"]
        click.echo(f"the audit trail is broken at decision #{broken['id']} (request {broken['request_id']}, "
                   f"decision {broken['sequence']}): {broken['problem']}")
    if not result["ok"]:
        raise SystemExit(1)
