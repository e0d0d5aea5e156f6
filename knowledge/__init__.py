"""Documents, Japanese text analysis, the index, retrieval and answer generation.

This package imports nothing from ``bot``, ``adapters`` or ``admin``.
"""
