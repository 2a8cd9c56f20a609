"""A Django app configured in-process (``settings.configure``), for WSGI and ASGI tests.

``application`` is Django's WSGI handler, ``asgi_application`` its ASGI handler.
"""

from __future__ import annotations

import atexit
import hashlib
import json
import os
import resource
import tempfile
import time
from collections.abc import Iterator

from django.conf import settings

settings.configure(
    DEBUG=False,
    SECRET_KEY="forno-test-secret-key-not-for-production",
    ALLOWED_HOSTS=["*"],
    ROOT_URLCONF=__name__,
    MIDDLEWARE=["django.contrib.sessions.middleware.SessionMiddleware"],
    INSTALLED_APPS=[],
    SESSION_ENGINE="django.contrib.sessions.backends.signed_cookies",
    DATABASES={},
    USE_TZ=True,
    FILE_UPLOAD_MAX_MEMORY_SIZE=1024 * 1024,
    DATA_UPLOAD_MAX_MEMORY_SIZE=None,
    LOGGING_CONFIG=None,
)

import django  # noqa: E402

django.setup()

from django.core.asgi import get_asgi_application  # noqa: E402
from django.core.wsgi import get_wsgi_application  # noqa: E402
from django.http import (  # noqa: E402
    FileResponse,
    HttpRequest,
    HttpResponse,
    JsonResponse,
    StreamingHttpResponse,
)
from django.urls import path  # noqa: E402

_fd, DOWNLOAD_PATH = tempfile.mkstemp(prefix="forno-django-", suffix=".bin")
with os.fdopen(_fd, "wb") as _out:
    _out.write(bytes(range(256)) * 4096)  # 1 MiB
atexit.register(os.unlink, DOWNLOAD_PATH)


def peak_rss() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def index(request: HttpRequest) -> HttpResponse:
    return HttpResponse("django index", content_type="text/plain")


def user(request: HttpRequest, name: str) -> JsonResponse:
    return JsonResponse({"user": name})


def query(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"args": {key: request.GET.getlist(key) for key in request.GET}})


def form(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"form": {key: request.POST.getlist(key) for key in request.POST}})


def echo_json(request: HttpRequest) -> JsonResponse:
    data = json.loads(request.body)
    return JsonResponse({"received": data, "keys": sorted(data)})


def rss(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"peak_rss": peak_rss()})


def upload(request: HttpRequest) -> JsonResponse:
    uploaded = request.FILES["file"]
    digest = hashlib.sha256()
    size = 0
    for block in uploaded.chunks(1 << 16):
        digest.update(block)
        size += len(block)
    return JsonResponse(
        {
            "name": uploaded.name,
            "field": request.POST.get("note"),
            "size": size,
            "sha256": digest.hexdigest(),
            "peak_rss": peak_rss(),
        }
    )


def cookies(request: HttpRequest) -> JsonResponse:
    response = JsonResponse({"seen": dict(request.COOKIES)})
    response.set_cookie("first", "1")
    response.set_cookie("second", "2", httponly=True)
    response.set_cookie("third", "3", path="/cookies")
    return response


def session_set(request: HttpRequest) -> JsonResponse:
    request.session["value"] = request.GET["value"]
    return JsonResponse({"stored": request.session["value"]})


def session_get(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"value": request.session.get("value")})


def stream(request: HttpRequest) -> StreamingHttpResponse:
    count = int(request.GET.get("count", "10"))
    request_path = request.path

    def generate() -> Iterator[str]:
        for index in range(count):
            yield f"line {index} of {request_path}\n"

    return StreamingHttpResponse(generate(), content_type="text/plain")


def download(request: HttpRequest) -> FileResponse:
    return FileResponse(open(DOWNLOAD_PATH, "rb"), content_type="application/octet-stream")


def boom(request: HttpRequest) -> HttpResponse:
    raise RuntimeError("django view failed")


async def blocking_view(request: HttpRequest) -> HttpResponse:
    """An async view that blocks the loop: the blocking detector's test names this line."""
    time.sleep(0.5)  # BLOCKS django
    return HttpResponse("slept", content_type="text/plain")


def handler404(request: HttpRequest, exception: Exception) -> JsonResponse:
    return JsonResponse({"error": "not here", "path": request.path}, status=404)


def handler500(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"error": "custom 500"}, status=500)


urlpatterns = [
    path("", index),
    path("user/<str:name>", user),
    path("query", query),
    path("form", form),
    path("json", echo_json),
    path("rss", rss),
    path("upload", upload),
    path("cookies", cookies),
    path("session/set", session_set),
    path("session/get", session_get),
    path("stream", stream),
    path("download", download),
    path("boom", boom),
    path("block", blocking_view),
]

application = get_wsgi_application()
asgi_application = get_asgi_application()
