"""Signature blocks (§10 of the format sheet): the UPPER lines printed above the signing space."""
from __future__ import annotations

from dataclasses import dataclass

from cdsflow.documents.vietnamese import nfc, upper
from cdsflow.kernel.errors import InvalidInput

MODES = ("head", "KT", "TM", "TM_KT", "Q", "TL", "TL_KT", "TUQ", "council")

# A sensible head title per unit kind when a unit has no settings row yet.
DEFAULT_HEAD_TITLE = {"school": "HIỆU TRƯỞNG", "bureau": "TRƯỞNG PHÒNG", "department": "GIÁM ĐỐC"}


@dataclass(frozen=True)
class SignatureSpec:
    mode: str = "head"
    head_title: str = ""
    body: str = ""  # the collective for TM.: ỦY BAN NHÂN DÂN, HỘI ĐỒNG
    signer_title: str = ""
    unit_head_title: str = ""  # TL_KT: head of the unit that signs by order
    post: str = ""  # council: optional post line under CHỦ TỊCH (e.g. HIỆU TRƯỞNG)
    signer_name: str = ""
    honorific: str = ""  # "ThS." etc., printed only when the authority requires it


@dataclass(frozen=True)
class _Lines:
    """The spec's titles in capitals, and `need`: a title a mode cannot print without."""

    mode: str
    head: str
    body: str
    signer: str
    unit_head: str
    post: str

    def need(self, value: str, what: str) -> str:
        if not value:
            raise InvalidInput(f"Kiểu ký {self.mode} cần {what}")
        return value

    def deputy(self, other: str, message: str) -> str:
        """The deputy's own title, which is not the title of the one he signs for."""
        self.need(self.signer, "chức vụ của cấp phó ký thay" if self.mode != "TL_KT" else "chức vụ người ký")
        if self.signer == other:
            raise InvalidInput(message)
        return self.signer


def _head(x: _Lines) -> list[str]:
    return [x.need(x.head, "chức danh người đứng đầu")]


def _acting(x: _Lines) -> list[str]:
    if x.signer and x.signer != x.head:
        raise InvalidInput("Kiểu ký Q. (quyền) chỉ có một dòng: không ghi thêm chức vụ người ký")
    return [f"Q. {x.need(x.head, 'chức danh người đứng đầu')}"]


def _for_head(x: _Lines) -> list[str]:
    x.need(x.head, "chức danh người đứng đầu")
    signer = x.deputy(x.head, "Ký thay (KT.) phải do cấp phó ký: chức vụ người ký trùng chức danh người đứng đầu")
    return [f"KT. {x.head}", signer]


def _for_body(x: _Lines) -> list[str]:
    return [f"TM. {x.need(x.body, 'tên tập thể (ví dụ ỦY BAN NHÂN DÂN)')}", x.need(x.signer, "chức vụ người ký")]


def _for_body_deputy(x: _Lines) -> list[str]:
    signer = x.deputy(x.head, "TM. … KT. phải do cấp phó ký: chức vụ người ký trùng chức danh người đứng đầu")
    return [f"TM. {x.need(x.body, 'tên tập thể')}", f"KT. {x.need(x.head, 'chức danh người đứng đầu')}", signer]


def _by_order(x: _Lines) -> list[str]:
    return [f"TL. {x.need(x.head, 'chức danh người đứng đầu')}", x.need(x.signer, "chức vụ người ký thừa lệnh")]


def _by_order_deputy(x: _Lines) -> list[str]:
    signer = x.deputy(x.unit_head, "TL. … KT. phải do cấp phó của đơn vị ký")
    return [f"TL. {x.need(x.head, 'chức danh người đứng đầu')}",
            f"KT. {x.need(x.unit_head, 'chức danh trưởng đơn vị ký thừa lệnh')}", signer]


def _delegated(x: _Lines) -> list[str]:
    return [f"TUQ. {x.need(x.head, 'chức danh người đứng đầu')}", x.need(x.signer, "chức vụ người được ủy quyền")]


def _council(x: _Lines) -> list[str]:
    """The advisory body signs in its own name with the school's seal."""
    return ["TM. HỘI ĐỒNG", "CHỦ TỊCH", *([x.post] if x.post else [])]


_BY_MODE = {"head": _head, "Q": _acting, "KT": _for_head, "TM": _for_body, "TM_KT": _for_body_deputy,
            "TL": _by_order, "TL_KT": _by_order_deputy, "TUQ": _delegated, "council": _council}


def signature_lines(spec: SignatureSpec) -> list[str]:
    """The authority lines of §10; refuses combinations the decree does not allow."""
    if spec.mode not in MODES:
        raise InvalidInput(f"Kiểu ký không hợp lệ: «{spec.mode}»", details=[f"chọn một trong: {', '.join(MODES)}"])
    return _BY_MODE[spec.mode](_Lines(spec.mode, upper(spec.head_title), upper(spec.body), upper(spec.signer_title),
                                      upper(spec.unit_head_title), upper(spec.post)))


def signature_context(spec: SignatureSpec) -> dict:
    """What the templates print: the lines and the signer's name (honorific only if set)."""
    name = nfc(spec.signer_name, field="họ tên người ký")
    honorific = nfc(spec.honorific)
    return {"lines": signature_lines(spec), "name": f"{honorific} {name}".strip() if name else ""}


def authority_title(position: str, unit_name: str, *, mode: str = "head", body: str = "") -> str:
    """The issuing authority's line of a decision (§5): the head's position joined to the unit's
    name, the shared word said once: "Trưởng phòng" + "Phòng Giáo dục và Đào tạo quận X" gives
    "TRƯỞNG PHÒNG GIÁO DỤC VÀ ĐÀO TẠO QUẬN X", "Hiệu trưởng" + "Trường Tiểu học Y" gives
    "HIỆU TRƯỞNG TRƯỜNG TIỂU HỌC Y" (trưởng ≠ trường). A collective (TM.) decides in its own name."""
    name = nfc(unit_name, field="tên đơn vị")
    if mode in ("TM", "TM_KT"):
        return upper(name if not body or upper(name).startswith(upper(body)) else body)
    pos = nfc(position, field="chức danh").strip()
    if not pos:
        raise InvalidInput("Chưa có chức danh người đứng đầu để ghi thẩm quyền ban hành")
    last, first = pos.split()[-1], (name.split() or [""])[0]
    if last.lower() == first.lower():  # exact, diacritics included
        pos = " ".join(pos.split()[:-1])
    return upper(f"{pos} {name}".strip())
