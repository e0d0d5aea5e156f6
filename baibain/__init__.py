"""Baibain (自治体版バイバイン): answers for municipal staff from administrative data."""

__version__ = "0.1.0"
