"""Blob and state stores: one interface each, a backend per module, chosen by settings."""
