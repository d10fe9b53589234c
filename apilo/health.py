"""`/healthz/` for load balancers and container health checks.

Answered before any other middleware: it does not depend on the Host header (a health check calls
`http://127.0.0.1:8000/healthz/`, which ALLOWED_HOSTS rightly refuses for real pages) nor on HTTPS (no redirect
under `DEBUG=false`). It says only whether the database answers.
"""

from django.db import connection
from django.http import JsonResponse

PATH = "/healthz/"


class HealthCheckMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path_info != PATH or request.method not in ("GET", "HEAD"):
            return self.get_response(request)
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT 1")
        except Exception:
            return JsonResponse({"status": "database unavailable"}, status=503)
        return JsonResponse({"status": "ok"})
