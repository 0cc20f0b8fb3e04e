"""Liveness and readiness for load balancers and `make run`'s wait loop."""

from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse


def livez(request: HttpRequest) -> HttpResponse:
    """Liveness: the process answers. Touches nothing, so it is also the trivial baseline that
    tests/perf compares real pages with."""
    return HttpResponse("ok", content_type="text/plain")


def healthz(request: HttpRequest) -> JsonResponse:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"status": "ok"})
