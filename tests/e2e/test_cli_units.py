import pytest

from tests.e2e.cli import Cli


@pytest.fixture
def cli(tmp_path):
    c = Cli(tmp_path)
    c("init")
    return c


def test_import_list_and_reimport(cli, tmp_path):
    f = tmp_path / "ds.csv"
    f.write_text(
        "Mã đơn vị,Tên đơn vị,Loại đơn vị,Cấp học,Email,Mã đơn vị quản lý\n"
        "PGD,Phòng Giáo dục và Đào tạo quận Ba Đình,Phòng,,pgd@badinh.edu.vn,\n"
        "KD,Trường Tiểu học Kim Đồng,Trường,Tiểu học,kd@badinh.edu.vn,PGD\n",
        encoding="utf-8",
    )
    # A bureau without a department above it is refused: nothing stored, non-zero exit.
    bad = cli("units", "import", str(f), ok=False)
    assert bad.returncode == 2 and "Dòng 2: thiếu đơn vị quản lý" in bad.stderr and "chưa nhập đơn vị nào" in bad.stderr
    assert "0 đơn vị" in cli("units", "list").stdout
    f.write_text(f.read_text(encoding="utf-8").replace("Mã đơn vị quản lý\n", "Mã đơn vị quản lý\nSGD,Sở GDĐT Hà Nội,Sở,,,\n")
                 .replace("pgd@badinh.edu.vn,", "pgd@badinh.edu.vn,SGD"), encoding="utf-8")
    assert "3 mới" in cli("units", "import", str(f)).stdout
    assert "0 mới, 0 cập nhật, 3 không đổi" in cli("units", "import", str(f)).stdout
    listing = cli("units", "list", "--under", "PGD").stdout
    assert "Trường Tiểu học Kim Đồng" in listing and "Tiểu học" in listing


def test_unknown_things_fail_with_vietnamese_messages(cli):
    r = cli("assessment", "show", "KHONGCO", ok=False)
    assert r.returncode == 3 and "Không tìm thấy hồ sơ đánh giá của đơn vị «KHONGCO»" in r.stderr
    r = cli("campaign", "status", "99", ok=False)
    assert r.returncode == 3 and "Không tìm thấy kế hoạch số 99" in r.stderr
    r = cli("units", "list", "--under", "XYZ", ok=False)
    assert "Không tìm thấy đơn vị có mã «XYZ»" in r.stderr
