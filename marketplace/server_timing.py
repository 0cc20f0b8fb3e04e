"""`Server-Timing: app;dur=<ms>` on every response: how long Django took, as browsers' developer
tools and the benchmarks in tests/perf read it. Written by hand: it is four lines of logic."""

import time


class ServerTimingMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        started = time.perf_counter()
        response = self.get_response(request)
        response["Server-Timing"] = f"app;dur={(time.perf_counter() - started) * 1000:.1f}"
        return response
