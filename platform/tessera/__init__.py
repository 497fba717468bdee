"""Tessera: a metadata-driven application platform."""

__version__ = "0.1.0"
