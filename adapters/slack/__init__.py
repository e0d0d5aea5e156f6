"""Slack (Events API, slash command ``/baibain``, interactivity) through slack-bolt."""
