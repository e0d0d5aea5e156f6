"""Settings, app wiring, routing of turns, commands and the CLI: the only place that wires
``knowledge``, ``admin`` and ``adapters`` together."""
