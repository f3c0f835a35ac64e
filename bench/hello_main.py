"""functions-framework's own hello-world, the yardstick for Healer's cold start."""

import functions_framework


@functions_framework.http
def hello(request):  # type: ignore[no-untyped-def]
    return "Hello world!"
