"""The ``baibain`` console script while the command line is still loading."""

from __future__ import annotations

import subprocess
import sys

# Ctrl-C arriving while ``bot.cli`` and what it imports load (it cannot be pressed in a test):
# the import system raises it as the first lookup of that module.
_CTRL_C_WHILE_LOADING = """
import sys

class CtrlC:
    def find_spec(self, name, path=None, target=None):
        if name == "bot.cli":
            raise KeyboardInterrupt
        return None

sys.meta_path.insert(0, CtrlC())
from bot.entry import main
main()
"""


def test_ctrl_c_while_the_command_line_loads_says_it_was_interrupted() -> None:
    stopped = subprocess.run(
        [sys.executable, "-c", _CTRL_C_WHILE_LOADING, "org", "list"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert stopped.returncode == 130
    assert stopped.stderr.strip() == "中断しました。"
    assert stopped.stdout == ""
