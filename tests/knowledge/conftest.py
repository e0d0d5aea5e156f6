"""Fixtures for knowledge tests: the in-process fake OpenAI-compatible server.

``tests/`` is on ``sys.path`` (pytest's rootdir-relative import of ``tests/conftest.py``), so
the fakes are imported as the top-level package ``fakes``.
"""

from fakes.openai_server import openai_fake

__all__ = ["openai_fake"]
