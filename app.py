"""Starts the bot from its settings: HTTP on $PORT, or Socket Mode when SLACK_APP_TOKEN is set."""

from bot.cli import main

if __name__ == "__main__":
    raise SystemExit(main(["serve"]))
