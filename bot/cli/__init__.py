"""`chatcrm`: the operator's command line (run the bot, migrations, invites, demo data, backup).

Every command reads the operator contract (environment and `.env`); a bad variable
is reported in one line naming it, with exit code 2 and no traceback. Each command lives
in its own module of this package; this one puts them together in the order `--help`
lists them.
"""

from __future__ import annotations

import typer

from bot.cli import (
    analytics,
    data,
    db,
    digest,
    doctor,
    duplicates,
    invite,
    mail,
    run,
    shell,
    status,
    transfer,
)

app = typer.Typer(
    name="chatcrm",
    help="ChatCRM, a CRM that lives in Telegram: run the bot and administer it.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,  # locals may hold the bot token
)
app.add_typer(db.app, name="db")
app.add_typer(analytics.app, name="analytics")

app.command()(run.run)
app.command()(invite.invite)
app.command("demo-data")(data.demo_data)
app.command()(data.backup)
app.command()(status.status)
app.command("outbox")(status.outbox_command)
app.command("mail-identity")(mail.mail_identity)
app.command()(shell.shell)
app.command("import")(transfer.import_file)
app.command("export")(transfer.export_file)
app.command()(doctor.doctor)
app.command()(digest.digest)
app.command("duplicates")(duplicates.duplicates)


def main() -> None:
    app(prog_name="chatcrm")


if __name__ == "__main__":
    main()
