"""The servers a signature with a timestamp and revocation data talks to, run on 127.0.0.1 for a
test: an RFC 3161 timestamp server (pyHanko's DummyTimeStamper signing with a TSA certificate of
the demo CA), the CA's CRL, published where its certificates say, and its OCSP responder."""
from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from asn1crypto import keys, pem, tsp
from asn1crypto import x509 as asn1_x509
from pyhanko.sign.timestamps.dummy_client import DummyTimeStamper

from cdsflow.documents.demo_ca import TestIdentity, TestTsa, answer_ocsp


@dataclass
class CaServer:
    """What the server publishes (set `crl` and `tsa` before a request) and what it was asked."""

    base: str = ""
    crl: bytes = b""
    tsa: TestTsa | None = None
    ca: TestIdentity | None = None  # answers OCSP for its signer's certificate
    revoked_serials: frozenset[int] = frozenset()
    requests: list[str] = field(default_factory=list)

    @property
    def tsa_url(self) -> str:
        return f"{self.base}/tsa"

    @property
    def crl_url(self) -> str:
        return f"{self.base}/ca.crl"

    @property
    def ocsp_url(self) -> str:
        return f"{self.base}/ocsp"


def _der(data: bytes) -> bytes:
    return pem.unarmor(data)[2] if pem.detect(data) else data


@contextmanager
def ca_server() -> Iterator[CaServer]:
    state = CaServer()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:  # keep pytest's output clean
            pass

        def _send(self, status: int, body: bytes, kind: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:  # noqa: N802 - http.server's name
            state.requests.append(f"GET {self.path}")
            if self.path == "/ca.crl" and state.crl:
                self._send(200, state.crl, "application/pkix-crl")
            else:
                self._send(404, b"", "text/plain")

        def do_POST(self) -> None:  # noqa: N802
            state.requests.append(f"POST {self.path}")
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            if self.path == "/ocsp" and state.ca is not None:
                self._send(200, answer_ocsp(state.ca, body, revoked_serials=state.revoked_serials),
                           "application/ocsp-response")
                return
            if self.path != "/tsa" or state.tsa is None:
                self._send(404, b"", "text/plain")
                return
            stamper = DummyTimeStamper(tsa_cert=asn1_x509.Certificate.load(_der(state.tsa.cert_pem)),
                                       tsa_key=keys.PrivateKeyInfo.load(_der(state.tsa.key_pem)))
            reply = stamper.request_tsa_response(tsp.TimeStampReq.load(body))
            self._send(200, reply.dump(), "application/timestamp-reply")

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.base = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
