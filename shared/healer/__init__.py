"""Healer: automated CI repair, as small functions passing CloudEvents through a broker."""

import os

__version__ = "0.1.0"

# Healer uses no pydantic plugins, and looking for them reads the metadata of every installed
# distribution: about 10 ms of a scaled-to-zero stage's cold start. Set the variable to load
# a plugin on purpose (e.g. PYDANTIC_DISABLE_PLUGINS="" for all of them).
os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")
