"""Documents, Japanese text analysis, the index, retrieval and answer generation.

This package imports nothing from ``baibain.bot``, ``baibain.adapters`` or ``baibain.admin``.
"""
