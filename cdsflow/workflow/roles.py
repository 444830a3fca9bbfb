"""The roles a person can hold (bound to a unit). Data of the domain: the rulebook refers to them."""
from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    ADMIN = "admin"  # quản trị hệ thống
    OFFICER = "officer"  # chuyên viên Sở/Phòng: phát động, công nhận, công bố
    REVIEWER = "reviewer"  # thành viên đoàn đánh giá ngoài
    SCHOOL_HEAD = "school_head"  # hiệu trưởng: lập Hội đồng, gửi tờ trình
    COMMITTEE = "committee"  # thành viên Hội đồng tự đánh giá
    CLERK = "clerk"  # văn thư

    @property
    def label(self) -> str:
        return ROLE_LABELS[self]

    @property
    def school_side(self) -> bool:
        return self in (Role.SCHOOL_HEAD, Role.COMMITTEE)


ROLE_LABELS = {
    Role.ADMIN: "Quản trị hệ thống",
    Role.OFFICER: "Chuyên viên Sở/Phòng",
    Role.REVIEWER: "Thành viên đoàn đánh giá ngoài",
    Role.SCHOOL_HEAD: "Hiệu trưởng",
    Role.COMMITTEE: "Thành viên Hội đồng tự đánh giá",
    Role.CLERK: "Văn thư",
}
