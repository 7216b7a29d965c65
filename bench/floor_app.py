"""The least a request can cost on this machine: a WSGI application that answers 200 with five bytes, served by
the same gunicorn as the product (bench_api measures it beside the chronology endpoint). Not part of the product."""


def application(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "5")])
    return [b"floor"]
