"""A real Django application served by the real server, through real clients.

Django reads the environ its own way (SCRIPT_NAME for reverse(), the scheme
for is_secure(), wsgi.file_wrapper for FileResponse, wsgi.input for forms
and uploads), so it checks what a Django user relies on: mounted under a
prefix, behind a proxy, uploading, streaming and sending files.
"""

import hashlib
import http.client
import json
import os

import pytest
from server_support import ThreadedServer, tcp_address, wait_until

django = pytest.importorskip("django")

from django.conf import settings  # noqa: E402

if not settings.configured:
    settings.configure(
        DEBUG=False,
        SECRET_KEY="waitress-tests",
        ALLOWED_HOSTS=["*"],
        ROOT_URLCONF=__name__,
        MIDDLEWARE=[],
        INSTALLED_APPS=[],
        USE_TZ=True,
        DATA_UPLOAD_MAX_MEMORY_SIZE=None,
        FILE_UPLOAD_MAX_MEMORY_SIZE=64 * 1024,  # larger uploads go to a temporary file
        LOGGING_CONFIG=None,
    )
    django.setup()

from django import http as dj  # noqa: E402
from django.core.wsgi import get_wsgi_application  # noqa: E402
from django.urls import path, reverse  # noqa: E402

FILE_BODY = bytes(range(256)) * 4096  # 1 MiB, every byte value


def hello(request, name):
    return dj.HttpResponse("Hello, %s!" % name, content_type="text/plain")


def echo(request):
    return dj.JsonResponse(
        {
            "method": request.method,
            "form": request.POST.dict(),
            "query": request.GET.dict(),
            "absolute": request.build_absolute_uri(),
            "reversed": reverse("hello", args=["x"]),
            "secure": request.is_secure(),
            "remote": request.META["REMOTE_ADDR"],
        }
    )


def upload(request):
    upload = request.FILES["file"]
    data = upload.read()
    return dj.JsonResponse(
        {"name": upload.name, "size": len(data), "sha256": hashlib.sha256(data).hexdigest(),
         "note": request.POST["note"]}
    )


def stream(request):
    return dj.StreamingHttpResponse(("part %d\n" % i for i in range(100)), content_type="text/plain")


def send_file(request):
    return dj.FileResponse(open(request.GET["path"], "rb"), content_type="application/octet-stream")


def go_elsewhere(request):
    return dj.HttpResponseRedirect(reverse("hello", args=["redirected"]))


def fail(request):
    raise RuntimeError("django view failed")


urlpatterns = [
    path("hello/<str:name>", hello, name="hello"),
    path("echo", echo),
    path("upload", upload),
    path("stream", stream),
    path("file", send_file),
    path("redirect", go_elsewhere),
    path("fail", fail),
]


def _request(target, method, url, body=None, headers=None):
    conn = http.client.HTTPConnection(*target, timeout=20)
    try:
        conn.request(method, url, body=body, headers=headers or {})
        response = conn.getresponse()
        return response, response.read()
    finally:
        conn.close()


WRAPPED_FILES = []


def recording_file_wrapper(app):
    """Note each file the application hands to ``wsgi.file_wrapper``."""

    def middleware(environ, start_response):
        wrap = environ["wsgi.file_wrapper"]

        def wrapper(filelike, block_size=8192):
            WRAPPED_FILES.append(filelike)
            return wrap(filelike, block_size)

        environ["wsgi.file_wrapper"] = wrapper
        return app(environ, start_response)

    return middleware


@pytest.fixture(scope="module")
def site():
    """Django mounted at /site, trusting the test client as its proxy."""
    with ThreadedServer(
        recording_file_wrapper(get_wsgi_application()),
        url_prefix="/site",
        trusted_proxy="127.0.0.1",
        trusted_proxy_headers="x-forwarded-proto x-forwarded-host",
    ) as server:
        yield tcp_address(server)


def test_django_sees_the_prefix_the_host_and_the_form(site):
    host = "%s:%d" % site
    response, body = _request(
        site, "POST", "/site/echo?q=1", "field=v%C3%A4lue",
        {"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert response.status == 200
    assert json.loads(body) == {
        "method": "POST",
        "form": {"field": "välue"},
        "query": {"q": "1"},
        "absolute": "http://%s/site/echo?q=1" % host,
        "reversed": "/site/hello/x",
        "secure": False,
        "remote": "127.0.0.1",
    }


def test_django_behind_a_trusted_proxy_builds_https_urls(site):
    response, body = _request(
        site, "GET", "/site/echo",
        headers={"X-Forwarded-Proto": "https", "X-Forwarded-Host": "example.org"},
    )
    assert response.status == 200
    seen = json.loads(body)
    assert seen["secure"] is True
    assert seen["absolute"] == "https://example.org/site/echo"


def test_django_receives_a_multipart_upload_whole(site):
    import requests

    data = os.urandom(300 * 1024)  # past FILE_UPLOAD_MAX_MEMORY_SIZE: spooled to disk
    response = requests.post(
        "http://%s:%d/site/upload" % site,
        files={"file": ("blob.bin", data)},
        data={"note": "ünïcode"},
        timeout=20,
    )
    assert response.status_code == 200
    assert response.json() == {
        "name": "blob.bin", "size": len(data), "sha256": hashlib.sha256(data).hexdigest(),
        "note": "ünïcode",
    }


def test_django_streaming_and_head_and_redirect(site):
    response, body = _request(site, "GET", "/site/stream")
    assert response.status == 200
    assert response.getheader("Transfer-Encoding") == "chunked"  # length unknown, kept alive
    assert body == "".join("part %d\n" % i for i in range(100)).encode()

    response, body = _request(site, "HEAD", "/site/hello/world")
    assert (response.status, body) == (200, b"")
    assert response.getheader("Content-Type") == "text/plain"

    response, _ = _request(site, "GET", "/site/redirect")
    assert response.status == 302
    assert response.getheader("Location") == "/site/hello/redirected"


def test_django_file_response_goes_through_the_file_wrapper(site, tmp_path):
    source = tmp_path / "payload.bin"
    source.write_bytes(FILE_BODY)
    del WRAPPED_FILES[:]
    response, body = _request(site, "GET", "/site/file?path=%s" % source)
    assert response.status == 200
    assert response.getheader("Content-Length") == str(len(FILE_BODY))
    assert body == FILE_BODY
    [sent] = WRAPPED_FILES
    assert sent.name == str(source)
    assert wait_until(lambda: sent.closed, timeout=10)  # Django's close() was called


def test_a_failing_django_view_is_a_500_and_the_server_goes_on(site):
    response, _ = _request(site, "GET", "/site/fail")
    assert response.status == 500
    response, body = _request(site, "GET", "/site/hello/again")
    assert (response.status, body) == (200, b"Hello, again!")
