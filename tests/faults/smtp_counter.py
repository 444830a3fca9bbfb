"""A counting SMTP server for the fault suite, run as its own process:

    python -m tests.faults.smtp_counter PORT LOG [--delay SECONDS]

Every message accepted (answered 250) first has its Message-ID appended to LOG, so a message
the server took counts as delivered even if the sender died before it heard the answer. While
the file LOG.refuse exists every MAIL FROM is answered with a temporary 421 (a relay in trouble).
Prints "ready" once it listens on 127.0.0.1.
"""
from __future__ import annotations

import argparse
import asyncio
import re
import signal
import sys
import threading
from pathlib import Path

from aiosmtpd.controller import Controller

_MID = re.compile(rb"^Message-ID:\s*(\S+)", re.M | re.I)


class Counting:
    def __init__(self, log: Path, delay: float) -> None:
        self.log = log.open("a", buffering=1)
        self.refuse = Path(str(log) + ".refuse")
        self.delay = delay
        self.lock = threading.Lock()

    async def handle_MAIL(self, server, session, envelope, address, mail_options):  # noqa: N802
        if self.refuse.exists():
            return "421 4.3.2 Service not available, try again later"
        envelope.mail_from = address
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        if self.delay:
            await asyncio.sleep(self.delay)
        m = _MID.search(envelope.original_content or envelope.content)
        with self.lock:
            self.log.write((m.group(1).decode() if m else "?") + "\n")
        return "250 Message accepted for delivery"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("port", type=int)
    ap.add_argument("log", type=Path)
    ap.add_argument("--delay", type=float, default=0.0)
    args = ap.parse_args()
    controller = Controller(Counting(args.log, args.delay), hostname="127.0.0.1", port=args.port)
    controller.start()
    print("ready", flush=True)
    signal.sigwait({signal.SIGINT, signal.SIGTERM})
    controller.stop()
    sys.exit(0)


if __name__ == "__main__":
    main()
