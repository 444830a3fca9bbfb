"""Secrets at rest: text sealed with the data home's key (Fernet: AES-128-CBC and HMAC-SHA256).

The key is `CDSFLOW_SECRET_KEY` when set (production: from the environment file, next to the
database password), else `keys/secret.key` in the data home, created on first use readable by its
owner only. Keep it out of database backups: whoever has both can unseal."""
from __future__ import annotations

import os
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken

from cdsflow.kernel.errors import CdsError
from cdsflow.kernel.home import home

ENV = "CDSFLOW_SECRET_KEY"


def _key_file() -> Path:
    return home() / "keys" / "secret.key"


def _fernet() -> Fernet:
    key = os.environ.get(ENV, "").strip().encode()
    if not key:
        path = _key_file()
        if not path.is_file():
            path.parent.mkdir(parents=True, exist_ok=True)
            os.chmod(path.parent, 0o700)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as f:
                f.write(Fernet.generate_key())
        key = path.read_bytes().strip()
    try:
        return Fernet(key)
    except ValueError:
        raise CdsError(f"Khóa bí mật ({ENV} hoặc keys/secret.key) không hợp lệ") from None


def seal(text: str) -> str:
    return _fernet().encrypt(text.encode("utf-8")).decode("ascii")


def unseal(token: str) -> str:
    try:
        return _fernet().decrypt(token.encode("ascii")).decode("utf-8")
    except InvalidToken:
        raise CdsError("Không mở được dữ liệu đã niêm phong: khóa bí mật của thư mục dữ liệu đã đổi") from None
