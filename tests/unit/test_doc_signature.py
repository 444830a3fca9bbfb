"""Signature blocks: every variant of §10, and the combinations the decree forbids."""
import pytest

from cdsflow.documents.checks import SIGNATURE_RE
from cdsflow.documents.signature import SignatureSpec, signature_context, signature_lines
from cdsflow.kernel.errors import InvalidInput


@pytest.mark.parametrize("spec,lines", [
    (SignatureSpec("head", head_title="Hiệu trưởng"), ["HIỆU TRƯỞNG"]),
    (SignatureSpec("KT", head_title="Hiệu trưởng", signer_title="Phó Hiệu trưởng"), ["KT. HIỆU TRƯỞNG", "PHÓ HIỆU TRƯỞNG"]),
    (SignatureSpec("TM", body="Ủy ban nhân dân", signer_title="Chủ tịch"), ["TM. ỦY BAN NHÂN DÂN", "CHỦ TỊCH"]),
    (SignatureSpec("TM_KT", body="Ủy ban nhân dân", head_title="Chủ tịch", signer_title="Phó Chủ tịch"),
     ["TM. ỦY BAN NHÂN DÂN", "KT. CHỦ TỊCH", "PHÓ CHỦ TỊCH"]),
    (SignatureSpec("Q", head_title="Hiệu trưởng"), ["Q. HIỆU TRƯỞNG"]),
    (SignatureSpec("TL", head_title="Giám đốc", signer_title="Chánh Văn phòng"), ["TL. GIÁM ĐỐC", "CHÁNH VĂN PHÒNG"]),
    (SignatureSpec("TL_KT", head_title="Giám đốc", unit_head_title="Trưởng phòng GDTrH",
                   signer_title="Phó Trưởng phòng GDTrH"), ["TL. GIÁM ĐỐC", "KT. TRƯỞNG PHÒNG GDTRH", "PHÓ TRƯỞNG PHÒNG GDTRH"]),
    (SignatureSpec("TUQ", head_title="Giám đốc", signer_title="Trưởng phòng Kế hoạch - Tài chính"),
     ["TUQ. GIÁM ĐỐC", "TRƯỞNG PHÒNG KẾ HOẠCH - TÀI CHÍNH"]),
    (SignatureSpec("council", post="Hiệu trưởng"), ["TM. HỘI ĐỒNG", "CHỦ TỊCH", "HIỆU TRƯỞNG"]),
])
def test_every_variant_prints_the_decree_lines(spec, lines):
    assert signature_lines(spec) == lines
    assert all(SIGNATURE_RE.match(line) for line in lines)


@pytest.mark.parametrize("spec,why", [
    (SignatureSpec("KT", head_title="Hiệu trưởng", signer_title="Hiệu trưởng"), "cấp phó"),
    (SignatureSpec("KT", head_title="Hiệu trưởng"), "chức vụ"),
    (SignatureSpec("Q", head_title="Hiệu trưởng", signer_title="Phó Hiệu trưởng"), "một dòng"),
    (SignatureSpec("TM", signer_title="Chủ tịch"), "tập thể"),
    (SignatureSpec("head"), "chức danh"),
    (SignatureSpec("XYZ", head_title="A"), "không hợp lệ"),
])
def test_forbidden_combinations_are_refused_in_vietnamese(spec, why):
    with pytest.raises(InvalidInput) as err:
        signature_lines(spec)
    assert why in str(err.value)


def test_signer_name_has_no_title_unless_set():
    spec = SignatureSpec("head", head_title="Hiệu trưởng", signer_name="Nguyễn Văn An")
    assert signature_context(spec)["name"] == "Nguyễn Văn An"
    assert signature_context(SignatureSpec("head", head_title="Hiệu trưởng", signer_name="Nguyễn Văn An",
                                           honorific="ThS."))["name"] == "ThS. Nguyễn Văn An"
