import csv

import pytest
from openpyxl import Workbook
from sqlalchemy import func, select

from cdsflow.kernel.errors import InvalidInput
from cdsflow.services.units import import_units_file, list_units
from cdsflow.storage.db import UnitOfWork
from cdsflow.storage.tables import Unit
from cdsflow.workflow.units import UnitKind

HEADER = ["Mã đơn vị", "Tên đơn vị", "Ký hiệu", "Loại đơn vị", "Cấp học", "Địa danh", "Email", "Mã đơn vị quản lý"]
GOOD = [
    ["PGDBD", "Phòng Giáo dục và Đào tạo quận Ba Đình", "PGDĐT", "Phòng", "", "Ba Đình", "pgd@badinh.edu.vn", ""],
    ["TH-KD", "Trường Tiểu học Kim Đồng", "THKĐ", "Trường", "Tiểu học", "Ba Đình", "kimdong@badinh.edu.vn", "PGDBD"],
    ["MN-HS", "Trường Mầm non Hoa Sữa", "MNHS", "Trường", "Mầm non", "Ba Đình", "", "PGDBD"],
]
SGD = ["SGDHN", "Sở Giáo dục và Đào tạo Hà Nội", "SGDĐT", "Sở", "", "Hà Nội", "sgd@hanoi.edu.vn", ""]


def write_csv(path, rows, header=HEADER):
    with open(path, "w", newline="", encoding="utf-8") as f:
        csv.writer(f).writerows([header, *rows])
    return path


def write_xlsx(path, rows, header=HEADER):
    wb = Workbook()
    wb.active.append(header)
    for r in rows:
        wb.active.append(r)
    wb.save(path)
    return path


def snapshot(engine):
    with UnitOfWork(engine) as uow:
        return sorted((u.code, u.name, u.supervisor_id, u.emails) for u in uow.session.execute(select(Unit)).scalars())


def test_csv_import_builds_the_tree(engine, tmp_path):
    rows = [SGD, [*GOOD[0][:7], "SGDHN"], *GOOD[1:]]
    with UnitOfWork(engine) as uow:
        report = import_units_file(uow, write_csv(tmp_path / "ds.csv", rows))
    assert (report.created, report.updated) == (4, 0)
    with UnitOfWork(engine) as uow:
        schools = list_units(uow, under="SGDHN", kind=UnitKind.SCHOOL)
        assert [s.code for s in schools] == ["MN-HS", "TH-KD"]
        kd = next(s for s in schools if s.code == "TH-KD")
        assert kd.education_level == "tieu_hoc" and kd.email_list == ["kimdong@badinh.edu.vn"]


def test_xlsx_reimport_updates_and_never_duplicates(engine, tmp_path):
    with UnitOfWork(engine) as uow:
        import_units_file(uow, write_xlsx(tmp_path / "a.xlsx", [SGD, [*GOOD[0][:7], "SGDHN"], *GOOD[1:]]))
    renamed = [SGD, [*GOOD[0][:7], "SGDHN"], [GOOD[1][0], "Trường Tiểu học Kim Đồng (mới)", *GOOD[1][2:]], GOOD[2]]
    with UnitOfWork(engine) as uow:
        report = import_units_file(uow, write_xlsx(tmp_path / "b.xlsx", renamed))
    assert (report.created, report.updated, report.unchanged) == (0, 1, 3)
    with UnitOfWork(engine) as uow:
        assert uow.session.execute(select(func.count()).select_from(Unit)).scalar() == 4
        assert uow.session.execute(select(Unit.name).where(Unit.code == "TH-KD")).scalar() == "Trường Tiểu học Kim Đồng (mới)"


def test_a_bad_file_reports_every_row_and_stores_nothing(engine, tmp_path):
    with UnitOfWork(engine) as uow:
        import_units_file(uow, write_csv(tmp_path / "ok.csv", [SGD]))
    before = snapshot(engine)
    bad = [
        [*GOOD[0][:7], "SGDHN"],
        ["TH-A", "Trường Tiểu học A", "", "Trường", "Tiểu học", "", "a@x.vn", "KHONGCO"],
        ["TH-A", "Trường Tiểu học A trùng", "", "Trường", "Tiểu học", "", "", "PGDBD"],
        ["TH-B", "Trường B", "", "Trường", "Đại học", "", "sai-email", "PGDBD"],
        ["TH-C", "Trường C", "", "Trường", "THCS", "", "", ""],
        ["PX", "Phòng X", "", "Phòng", "", "", "", "TH-A"],
    ]
    with UnitOfWork(engine) as uow, pytest.raises(InvalidInput) as err:
        import_units_file(uow, write_csv(tmp_path / "bad.csv", bad))
    message = str(err.value)
    assert "chưa nhập đơn vị nào" in message
    for expected in ("Dòng 3: không tìm thấy đơn vị quản lý «KHONGCO»", "Dòng 4: mã đơn vị «TH-A» trùng với dòng 3",
                     "Dòng 5: cấp học không rõ", "Dòng 5: email không hợp lệ: «sai-email»",
                     "Dòng 6: thiếu đơn vị quản lý", "Dòng 7: Phòng GDĐT / Phòng VH-XH không thể trực thuộc"):
        assert expected in message
    assert snapshot(engine) == before


def test_unknown_columns_and_formats_are_refused(engine, tmp_path):
    with UnitOfWork(engine) as uow:
        with pytest.raises(InvalidInput, match="không hiểu cột «Ghi chú lạ»"):
            import_units_file(uow, write_csv(tmp_path / "x.csv", [SGD + ["?"]], HEADER + ["Ghi chú lạ"]))
        with pytest.raises(InvalidInput, match=r"chỉ nhận tệp \.csv hoặc \.xlsx"):
            (tmp_path / "x.txt").write_text("Mã đơn vị")
            import_units_file(uow, tmp_path / "x.txt")
        (tmp_path / "broken.xlsx").write_bytes(b"not a zip")
        with pytest.raises(InvalidInput, match="Không đọc được tệp Excel"):
            import_units_file(uow, tmp_path / "broken.xlsx")
    assert snapshot(engine) == []


def test_hostile_names_are_stored_verbatim(engine, tmp_path):
    name = "Trường THCS <script>alert(1)</script> & \"Nguyễn Du\"'; DROP TABLE unit;--"
    with UnitOfWork(engine) as uow:
        import_units_file(uow, write_csv(tmp_path / "h.csv", [SGD, ["X1", name, "", "Trường", "THCS", "", "", "SGDHN"]]))
    with UnitOfWork(engine) as uow:
        assert uow.session.execute(select(Unit.name).where(Unit.code == "X1")).scalar() == name
