"""GitHub webhook deliveries as the stages receive them: the envelope, the signature, the trust.

Two stages believe GitHub deliveries (ingest, and completion-check for CI results on an agent's
branch), so both authenticate them the same way (``trust``): ``X-Hub-Signature-256``, or, under
``envelope_trust = "argo"``, the form of the envelope Argo's EventSource produces after checking
that signature itself. Kept import-light: ingest's cold start passes through here.
"""
