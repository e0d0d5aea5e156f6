"""Microsoft Teams through the Bot Framework (``CloudAdapter``, Bot Connector replies)."""
