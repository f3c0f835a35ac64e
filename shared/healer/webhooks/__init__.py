"""GitHub webhook deliveries as the stages receive them: the signature and the envelope.

Two stages trust GitHub deliveries (ingest, and completion-check for CI results on an agent's
branch), so both verify ``X-Hub-Signature-256`` the same way. Kept import-light: ingest's cold
start passes through here.
"""
