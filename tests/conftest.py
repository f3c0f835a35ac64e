"""Hypothesis profiles: the test command runs the same examples every time, so a property
test cannot pass in one run and fail in the next; ``--hypothesis-profile=explore`` draws fresh
random examples (and more of them) to look for new failures locally."""

from __future__ import annotations

from hypothesis import settings

settings.register_profile("repeatable", derandomize=True, database=None)
settings.register_profile("explore", max_examples=500)
settings.load_profile("repeatable")
