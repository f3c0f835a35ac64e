"""The log classifier: a failed job's log in, a verdict out.

Classify runs it on a detected failure; gather runs it again on a retry, on the logs of the CI
run that followed the last attempt. A package of its own, beside the runtime package ``healer``
(which it imports and which does not import it), so neither stage imports the other.
"""
