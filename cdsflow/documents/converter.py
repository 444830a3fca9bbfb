"""One LibreOffice kept warm per converter: started on first use, a timeout per paper, restarted when
it dies. A new `soffice` per file pays LibreOffice's start (seconds) every time; a warm one pays it once.

Each converter owns a private profile (a copy of one initialised template kept under the PDF cache)
and a spool folder; the macro in `lo_macro.py` does the converting. Threads share a converter
under its lock; a pool of converters (`pool(n)`) lets bulk runs use every core.
"""
from __future__ import annotations

import atexit
import hashlib
import os
import shutil
import signal
import subprocess
import tempfile
import threading
import time
import uuid
from pathlib import Path

from cdsflow.documents import lo_macro
from cdsflow.kernel.errors import CdsError
from cdsflow.kernel.home import pdf_cache_dir

START_TIMEOUT = 120.0  # a cold LibreOffice on a busy 2-core machine takes 5–20 s
POLL = 0.01


def _profile_template(binary: str) -> Path:
    """An initialised LibreOffice profile with the macro installed, made once per home and copied
    for each converter (initialising a profile costs as much as a conversion)."""
    # Named for the macro's text: a changed macro gets a fresh template, never an old one.
    template = pdf_cache_dir() / f"lo-profile-{hashlib.sha256(lo_macro.BASIC.encode()).hexdigest()[:12]}"
    if (template / "user" / "basic" / "Standard" / f"{lo_macro.MODULE}.xba").is_file():
        return template
    build = Path(tempfile.mkdtemp(prefix="lo-profile-", dir=template.parent))
    try:
        subprocess.run([binary, f"-env:UserInstallation={build.as_uri()}", "--headless", "--norestore",
                        "--terminate_after_init"], capture_output=True, timeout=START_TIMEOUT, check=False)
        lo_macro.install(build)
        try:
            build.rename(template)  # atomic: another process that won the race keeps its own
        except OSError:
            pass
    finally:
        shutil.rmtree(build, ignore_errors=True)
    return template


class WarmConverter:
    """A LibreOffice process converting .docx to PDF through its spool folder, one file at a time."""

    def __init__(self, binary: str) -> None:
        self.binary = binary
        self.proc: subprocess.Popen | None = None
        self.root: Path | None = None
        self.lock = threading.Lock()
        self.converted = 0  # papers converted by this converter (the cache's test reads it)
        self.starts = 0
        self.owner = os.getpid()

    @property
    def spool(self) -> Path:
        assert self.root is not None
        return self.root / "spool"

    def alive(self) -> bool:
        if self.owner != os.getpid():
            # A forked child (a process pool) inherits the object, not the LibreOffice: forget it
            # rather than poll or delete what belongs to the parent.
            self.proc, self.root, self.owner = None, None, os.getpid()
        return self.proc is not None and self.proc.poll() is None

    def pid(self) -> int | None:
        return self.proc.pid if self.alive() else None

    def _start(self) -> None:
        self._kill()
        _remove_orphans()
        self.root = Path(tempfile.mkdtemp(prefix="cdsflow-lo-"))
        (self.root / "owner").write_text(str(os.getpid()), encoding="ascii")
        shutil.copytree(_profile_template(self.binary), self.root / "profile")
        for sub in ("in", "out"):
            (self.spool / sub).mkdir(parents=True)
        env = {**os.environ, lo_macro.SPOOL_ENV: str(self.spool)}
        if Path(f"/proc/{os.getpid()}").is_dir():  # Linux: the macro ends LibreOffice when we are gone
            env[lo_macro.OWNER_ENV] = f"/proc/{os.getpid()}"
        # Its own session, so that a kill reaches soffice.bin behind the oosplash wrapper.
        self.proc = subprocess.Popen(
            [self.binary, f"-env:UserInstallation={(self.root / 'profile').as_uri()}", "--headless", "--invisible",
             "--norestore", "--nologo", "--nodefault", lo_macro.MACRO_URL],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        self.starts += 1
        deadline = time.monotonic() + START_TIMEOUT
        while not (self.spool / "ready").exists():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self._kill()
                raise CdsError("Không khởi động được LibreOffice để chuyển sang PDF",
                               details=["kiểm tra: soffice --headless --version"])
            time.sleep(0.05)

    def _kill(self) -> None:
        if self.owner != os.getpid():
            self.proc, self.root, self.owner = None, None, os.getpid()
        if self.proc is not None and self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.proc.wait(timeout=10)
        self.proc = None
        if self.root is not None:
            shutil.rmtree(self.root, ignore_errors=True)
            self.root = None

    def stop(self) -> None:
        """Ask the macro to end LibreOffice; kill it if it does not within a few seconds."""
        with self.lock:
            if self.alive():
                (self.spool / "stop").touch()
                try:
                    self.proc.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    pass
            self._kill()

    def convert(self, docx: Path, out_pdf: Path, *, timeout: float = 120) -> Path:
        """`docx` to `out_pdf`. A converter found dead is restarted and the paper tried once more;
        one that passes `timeout` is killed (the next call starts a fresh one)."""
        with self.lock:
            for attempt in (1, 2):
                if not self.alive():
                    self._start()
                try:
                    return self._convert(docx, out_pdf, timeout)
                except _Died:
                    if attempt == 2:
                        raise CdsError("LibreOffice dừng giữa chừng khi chuyển sang PDF", details=[docx.name]) from None
        raise AssertionError("unreachable")

    def _convert(self, docx: Path, out_pdf: Path, timeout: float) -> Path:
        job = uuid.uuid4().hex
        staged = self.spool / f"{job}.tmp"
        shutil.copyfile(docx, staged)
        staged.rename(self.spool / "in" / f"{job}.docx")
        done, failed = self.spool / "out" / f"{job}.pdf", self.spool / "out" / f"{job}.err"
        deadline = time.monotonic() + timeout
        while not done.exists():
            if failed.exists():
                why = failed.read_text(encoding="utf-8", errors="replace").strip()
                failed.unlink(missing_ok=True)
                raise CdsError("LibreOffice không tạo được tệp PDF", details=[docx.name, why[-300:]])
            if not self.alive():
                raise _Died()
            if time.monotonic() > deadline:
                self._kill()
                raise CdsError(f"LibreOffice không chuyển xong sang PDF sau {int(timeout)} giây", details=[docx.name])
            time.sleep(POLL)
        out_pdf.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(str(done), out_pdf)
        self.converted += 1
        return out_pdf


class _Died(Exception):
    pass


def _remove_orphans() -> None:
    """Folders of converters whose owning process is gone (killed: no atexit ran): their LibreOffice
    ended with it (see lo_macro), the profile copy and spool are removed here."""
    for root in Path(tempfile.gettempdir()).glob("cdsflow-lo-*"):
        try:
            pid = int((root / "owner").read_text(encoding="ascii"))
        except (OSError, ValueError):
            continue
        if not _running(pid):
            shutil.rmtree(root, ignore_errors=True)


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process with that number
        return True
    return True


_POOL: list[WarmConverter] = []
_POOL_LOCK = threading.Lock()


def pool(size: int, binary: str) -> list[WarmConverter]:
    """The process's converters, at least `size` of them (started lazily, on their first paper)."""
    with _POOL_LOCK:
        while len(_POOL) < size:
            _POOL.append(WarmConverter(binary))
        return _POOL[:max(1, size)]


def shutdown() -> None:
    """Stop every warm LibreOffice of this process (at exit, and in tests)."""
    with _POOL_LOCK:
        for c in _POOL:
            c.stop()


atexit.register(shutdown)
