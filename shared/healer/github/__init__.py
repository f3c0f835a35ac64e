"""The GitHub REST client every stage shares: auth, timeouts, rate limits, pagination, logs.

Import :mod:`healer.github.client` for the client; this package module stays empty so that
importing the exceptions does not pull in httpx.
"""
