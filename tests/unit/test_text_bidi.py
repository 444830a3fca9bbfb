"""The one text gate refuses the bidirectional overrides that reverse what a paper's title shows."""
import pytest

from cdsflow.kernel.text import TextError, clean_text


@pytest.mark.parametrize("char", ["\u202e", "\u202d", "\u2066", "\u2069"])
def test_a_bidi_override_is_refused_with_its_code_point(char):
    with pytest.raises(TextError, match=f"U\\+{ord(char):04X}"):
        clean_text(f"Kế hoạch{char} số 1", field="tiêu đề")


def test_vietnamese_text_passes_unchanged():
    assert clean_text("Trường Tiểu học Số 1.1 – Đống Đa") == "Trường Tiểu học Số 1.1 – Đống Đa"
