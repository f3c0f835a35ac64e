"""Healer: automated CI repair, as small functions passing CloudEvents through a broker."""

__version__ = "0.1.0"
