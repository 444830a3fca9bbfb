"""Đang đánh giá ngoài: the supervisor's team takes the file; the proposer cannot review it."""
from __future__ import annotations

from cdsflow.kernel.stages import Stage

STAGE = Stage.EXTERNAL_REVIEW
PRODUCES = ("qd_doan_danh_gia",)
LOCKS = True
