"""`python -m bot` is `chatcrm run`: the bot, its scheduler and its HTTP server in one process."""

import sys

from bot.cli import app

if __name__ == "__main__":
    app(["run", *sys.argv[1:]], prog_name="python -m bot")
