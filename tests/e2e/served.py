"""Real cdsflow processes for end-to-end tests: `cdsflow serve` on a free port, logins over HTTP."""
from __future__ import annotations

import re
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx


@contextmanager
def served(command: list[str], env: dict, cwd, *args: str, timeout: float = 60) -> Iterator[str]:
    """Start `command serve --port 0 …`, yield its base URL once /healthz answers, stop it after."""
    proc = subprocess.Popen([*command, "serve", "--host", "127.0.0.1", "--port", "0", *args], cwd=cwd,
                            env={**env, "PYTHONUNBUFFERED": "1"}, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    try:
        line = proc.stdout.readline()
        found = re.search(r"http://127\.0\.0\.1:\d+/", line)
        assert found, line + proc.stdout.read() if proc.poll() is not None else line
        base = found.group(0)
        deadline = time.monotonic() + timeout
        while True:
            try:
                if httpx.get(base + "healthz", timeout=5).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline and proc.poll() is None, "cdsflow serve did not come up"
            time.sleep(0.2)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        proc.stdout.close()


def login(base: str, username: str, password: str) -> httpx.Client:
    client = httpx.Client(base_url=base, timeout=30, follow_redirects=False)
    r = client.post("/api/login", json={"username": username, "password": password})
    assert r.status_code == 200, r.text
    client.headers["X-CSRF-Token"] = r.json()["csrf_token"]
    return client
