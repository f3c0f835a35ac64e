"""A local stand-in for the Knative Broker: routes by the Trigger manifests in ``knative/``.

Used by ``healer replay`` (every stage in-process over WSGI) and ``healer dev`` (every stage
over real HTTP on localhost). Matching, retries, the TTL loop guard and dead-lettering follow
Knative's semantics so what works here works behind the real broker.
"""
