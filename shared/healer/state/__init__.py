"""Healer's state: the typed records it keeps, and the policy for writing them safely."""
