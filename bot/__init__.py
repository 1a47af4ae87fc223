"""The Telegram bot: assembly of the dispatcher, middlewares, i18n, storage and entry point."""
