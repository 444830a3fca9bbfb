"""Links between the pages of a ward list (dashboard, province view, picker): the same search, another page."""
from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlencode


def page_url(path: str, q: str, *, anchor: str = "", keep: Mapping[str, str] | None = None,
             names: tuple[str, str] = ("q", "page")) -> Callable[[int], str]:
    """`url(n)`: page n of the search `q` on `path` (with the other parameters in `keep`)."""
    def url(n: int) -> str:
        params: dict[str, Any] = {**(keep or {}), names[0]: q, names[1]: "" if n == 1 else str(n)}
        query = urlencode({k: v for k, v in params.items() if v})
        return f"{path}?{query}{anchor}" if query else f"{path}{anchor}"
    return url
