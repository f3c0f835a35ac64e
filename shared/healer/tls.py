"""Outbound HTTPS trust: one TLS context per process, built cheaply.

httpx builds a new SSL context for every client it makes and parses a whole CA bundle for it,
about 30 ms on this hardware: at every cold start of a stage that talks to GitHub, and on
every call for the callers that open a client per request (the broker forwarder, the history
and extras sources). Here the context is built once per process, from the system's hashed
certificate directory when there is one (OpenSSL then reads a CA certificate only when a
server's chain names it: about 2 ms), which is the trust store the operating system and its
operators maintain (a corporate CA added to the image is honoured). ``SSL_CERT_FILE`` and
``SSL_CERT_DIR`` win when set; certifi's bundle (httpx's own default) is the fallback.
"""

from __future__ import annotations

import functools
import os
import ssl
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import httpx


def _hashed(directory: str) -> bool:
    """True when ``directory`` holds OpenSSL's ``<hash>.0`` links (``c_rehash`` ran)."""
    try:
        with os.scandir(directory) as entries:
            return any(entry.name.endswith(".0") for entry in entries)
    except OSError:
        return False


def trust_source(
    environ: Mapping[str, str] | None = None, system: str | None = None
) -> tuple[str | None, str | None]:
    """The ``(cafile, capath)`` outbound HTTPS trusts, in the order described above;
    ``system`` is OpenSSL's default certificate directory unless given."""
    env = os.environ if environ is None else environ
    cafile, capath = env.get("SSL_CERT_FILE") or None, env.get("SSL_CERT_DIR") or None
    if cafile or capath:
        return cafile, capath
    system = ssl.get_default_verify_paths().capath if system is None else system
    if system and _hashed(system):
        return None, system
    import certifi

    return certifi.where(), None


@functools.cache
def tls_context() -> ssl.SSLContext:
    """The process's verifying client context (hostname checked, TLS 1.2 at least)."""
    cafile, capath = trust_source()
    context = ssl.create_default_context(cafile=cafile, capath=capath)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    return context


def http_client(**options: Any) -> httpx.Client:
    """An ``httpx.Client`` that verifies HTTPS with :func:`tls_context`; with a ``transport``
    of the caller's (recorded answers, an in-process app) no context is needed or built."""
    import httpx

    if options.get("transport") is not None:
        return httpx.Client(**options)
    return httpx.Client(verify=tls_context(), **options)
