"""Đang tự đánh giá: entered from a formed committee, or again when reviewers return the file."""
from __future__ import annotations

from cdsflow.kernel.stages import Stage

STAGE = Stage.SELF_ASSESSMENT
PRODUCES = ("bien_ban", "bao_cao", "qd_phe_duyet")
LOCKS = False
