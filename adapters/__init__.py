"""Platform adapters (Slack, Teams, LoGo Chat). Each verifies and acknowledges a request,
translates the payload into a neutral ``Turn`` and renders an ``Answer`` back. Adapters import
nothing but ``bot.turns``."""
