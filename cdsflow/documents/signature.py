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


def signature_lines(spec: SignatureSpec) -> list[str]:
    """The authority lines of §10; refuses combinations the decree does not allow."""
    mode = spec.mode
    head, body, signer = upper(spec.head_title), upper(spec.body), upper(spec.signer_title)
    unit_head, post = upper(spec.unit_head_title), upper(spec.post)
    if mode not in MODES:
        raise InvalidInput(f"Kiểu ký không hợp lệ: «{mode}»", details=[f"chọn một trong: {', '.join(MODES)}"])

    def need(value: str, what: str) -> str:
        if not value:
            raise InvalidInput(f"Kiểu ký {mode} cần {what}")
        return value

    if mode == "head":
        return [need(head, "chức danh người đứng đầu")]
    if mode == "Q":
        if signer and signer != head:
            raise InvalidInput("Kiểu ký Q. (quyền) chỉ có một dòng: không ghi thêm chức vụ người ký")
        return [f"Q. {need(head, 'chức danh người đứng đầu')}"]
    if mode == "KT":
        need(head, "chức danh người đứng đầu")
        need(signer, "chức vụ của cấp phó ký thay")
        if signer == head:
            raise InvalidInput("Ký thay (KT.) phải do cấp phó ký: chức vụ người ký trùng chức danh người đứng đầu")
        return [f"KT. {head}", signer]
    if mode == "TM":
        return [f"TM. {need(body, 'tên tập thể (ví dụ ỦY BAN NHÂN DÂN)')}", need(signer, "chức vụ người ký")]
    if mode == "TM_KT":
        need(signer, "chức vụ của cấp phó ký thay")
        if signer == head:
            raise InvalidInput("TM. … KT. phải do cấp phó ký: chức vụ người ký trùng chức danh người đứng đầu")
        return [f"TM. {need(body, 'tên tập thể')}", f"KT. {need(head, 'chức danh người đứng đầu')}", signer]
    if mode == "TL":
        return [f"TL. {need(head, 'chức danh người đứng đầu')}", need(signer, "chức vụ người ký thừa lệnh")]
    if mode == "TL_KT":
        need(signer, "chức vụ người ký")
        if signer == unit_head:
            raise InvalidInput("TL. … KT. phải do cấp phó của đơn vị ký")
        return [f"TL. {need(head, 'chức danh người đứng đầu')}",
                f"KT. {need(unit_head, 'chức danh trưởng đơn vị ký thừa lệnh')}", signer]
    if mode == "TUQ":
        return [f"TUQ. {need(head, 'chức danh người đứng đầu')}", need(signer, "chức vụ người được ủy quyền")]
    # council: the advisory body signs in its own name with the school's seal
    return ["TM. HỘI ĐỒNG", "CHỦ TỊCH", *([post] if post else [])]


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
