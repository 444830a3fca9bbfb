"""Hostile bodies against a real `cdsflow serve`: refused while streaming, server memory kept low.

Each test streams a 200 MB body over a raw socket (chunked or with a true Content-Length),
reads the answer, and reads the server's peak resident memory (VmHWM) from /proc.
"""
from __future__ import annotations

import re
import socket
import threading
import time

import httpx
import pytest

from tests.e2e.cli import Cli
from tests.faults.web_server import served

pytestmark = pytest.mark.faults

BIG = 200 * 1024 * 1024
CHUNK = b"x" * (64 * 1024)
MAX_GROWTH = 50 * 1024 * 1024


def _reset_peak(pid: int) -> int:
    """Reset the process's peak RSS (VmHWM) to its current RSS, and return that."""
    with open(f"/proc/{pid}/clear_refs", "w") as fh:
        fh.write("5")
    return _kb(pid, "VmRSS")


def _kb(pid: int, field: str) -> int:
    status = open(f"/proc/{pid}/status").read()
    return int(re.search(rf"^{field}:\s+(\d+) kB", status, re.M).group(1)) * 1024


@pytest.fixture
def server(tmp_path):
    cli = Cli(tmp_path)
    cli("init")
    with served(cli) as (proc, base):
        yield proc, int(base.rsplit(":", 1)[1])


def _stream(port: int, head: bytes, chunked: bool, total: int = BIG) -> tuple[bytes, int]:
    """Send `head` then up to `total` body bytes while reading the answer; (answer, bytes sent)."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=30)
    sent = 0
    answer = bytearray()

    def reader():
        try:
            while data := sock.recv(65536):
                answer.extend(data)
        except OSError:
            pass

    t = threading.Thread(target=reader, daemon=True)
    t.start()
    try:
        sock.sendall(head)
        while sent < total and not answer:
            piece = (b"%x\r\n" % len(CHUNK) + CHUNK + b"\r\n") if chunked else CHUNK
            sock.sendall(piece)
            sent += len(CHUNK)
        if chunked and not answer:
            sock.sendall(b"0\r\n\r\n")
    except OSError:
        pass  # the server closed the connection on us: that is the refusal
    t.join(timeout=20)
    sock.close()
    return bytes(answer), sent


def _status(answer: bytes) -> int:
    return int(answer.split(b" ", 2)[1])


def test_chunked_200mb_json_to_api_login_is_cut_with_413(server):
    proc, port = server
    before = _reset_peak(proc.pid)
    head = (b"POST /api/login HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n")
    started = time.monotonic()
    answer, sent = _stream(port, head, chunked=True)
    took = time.monotonic() - started
    growth = _kb(proc.pid, "VmHWM") - before
    print(f"\nchunked /api/login: {sent / 1024 / 1024:.1f} MB sent before the answer, {took:.2f} s, "
          f"peak memory growth {growth / 1024:.0f} KB")
    assert _status(answer) == 413
    assert "quá lớn".encode() in answer
    assert sent < BIG and growth < MAX_GROWTH


def test_multipart_200mb_form_to_login_is_refused_before_it_is_read(server):
    proc, port = server
    page = httpx.get(f"http://127.0.0.1:{port}/login", timeout=10)
    cookie = page.cookies["cdsflow_login"]
    before = _reset_peak(proc.pid)
    for with_cookie, chunked in ((False, False), (False, True), (True, True)):
        head = (b"POST /login HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: multipart/form-data; boundary=XyZ\r\n"
                + (f"Cookie: cdsflow_login={cookie}\r\n".encode() if with_cookie else b"")
                + (b"Transfer-Encoding: chunked\r\n\r\n" if chunked else f"Content-Length: {BIG}\r\n\r\n".encode()))
        answer, sent = _stream(port, head, chunked=chunked)
        growth = _kb(proc.pid, "VmHWM") - before
        print(f"\nmultipart /login (cookie: {with_cookie}, chunked: {chunked}): {sent / 1024 / 1024:.1f} MB sent, "
              f"peak memory growth {growth / 1024:.0f} KB, answer {_status(answer)}")
        assert _status(answer) in (403, 413, 415)
        assert sent < BIG and growth < MAX_GROWTH


def test_multipart_upload_without_a_session_is_refused_unread(server):
    proc, port = server
    before = _reset_peak(proc.pid)
    head = (b"POST /campaigns HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: multipart/form-data; boundary=XyZ\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n")
    answer, sent = _stream(port, head, chunked=True)
    growth = _kb(proc.pid, "VmHWM") - before
    print(f"\nmultipart /campaigns, no session: {sent / 1024 / 1024:.1f} MB sent, growth {growth / 1024:.0f} KB")
    assert _status(answer) == 401 and "đăng nhập".encode() in answer
    assert sent < BIG and growth < MAX_GROWTH


@pytest.mark.parametrize("path", ["/login", "/login/forgot", "/login/reset"])
def test_chunked_30mb_without_content_type_before_login_is_cut_with_413(server, path):
    proc, port = server
    before = _reset_peak(proc.pid)
    head = f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nCookie: cdsflow_login=x\r\n".encode()
    head += b"Transfer-Encoding: chunked\r\n\r\n"
    answer, sent = _stream(port, head, chunked=True, total=30 * 1024 * 1024)
    growth = _kb(proc.pid, "VmHWM") - before
    print(f"\nchunked {path}, no Content-Type: {sent / 1024 / 1024:.1f} MB sent, growth {growth / 1024:.0f} KB")
    assert _status(answer) == 413 and "quá lớn".encode() in answer
    assert sent < 30 * 1024 * 1024 and growth < MAX_GROWTH
