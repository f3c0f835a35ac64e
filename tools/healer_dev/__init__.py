"""Healer's development tools: the ``healer`` CLI and the local broker.

They sit above the runtime package (``healer``) and the stage functions (``functions``): they
import both, neither imports them, and the image carries neither of them.
"""
