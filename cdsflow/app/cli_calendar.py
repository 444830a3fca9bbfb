"""`cdsflow calendar …`: check, show (and export .ics), list. Translation only."""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import typer
from rich.table import Table

from cdsflow.app import wiring
from cdsflow.app.console import console, err_console, fail
from cdsflow.calendars import timeutil
from cdsflow.calendars.catalog import calendar_name, find_calendar, shipped_calendars
from cdsflow.calendars.loader import load_calendar
from cdsflow.calendars.table import COLUMN_BY_KEY, HEADER_BY_KEY
from cdsflow.calendars.timeline import timeline
from cdsflow.calendars.validator import check_calendar
from cdsflow.calendars.xlsx import write_calendar_workbook
from cdsflow.kernel.errors import CdsError
from cdsflow.services import calendar_drafts as svc
from cdsflow.services.units import get_unit


@contextmanager
def _calendar_errors() -> Iterator[None]:
    try:
        yield
    except CdsError as err:
        err_console.print(f"[bold red]Lỗi:[/] {err.message}", highlight=False, soft_wrap=True)
        for detail in err.details:
            err_console.print(f"  - {detail}", highlight=False, soft_wrap=True)
        raise typer.Exit(err.exit_code) from None


def _print_flags(flags) -> None:
    for f in flags:
        where = f"Dòng {f.row + 1}" if f.row is not None else "Thông tin chung"
        by_key = COLUMN_BY_KEY if f.row is not None else HEADER_BY_KEY
        column = by_key[f.column].label if f.column in by_key else f.column
        console.print(f"[yellow]ngày nghỉ:[/] {where} ({column}): {f.message}", highlight=False, soft_wrap=True)


cal_app = typer.Typer(help="Lịch triển khai: kiểm tra, xem, xuất iCalendar.", no_args_is_help=True)


@cal_app.command("check")
def check_cmd(files: list[str] = typer.Argument(..., help="Tệp lịch (.yaml), thư mục, hoặc tên lịch có sẵn")) -> None:
    """Kiểm tra tệp lịch: báo lỗi và cảnh báo kèm số dòng."""
    failed = False
    # A folder stands for every .yaml file under it.
    names = [str(p) for f in files for p in (sorted(Path(f).rglob("*.yaml")) if Path(f).is_dir() else [f])]
    for name in names:
        try:
            path = find_calendar(name)
        except CdsError as err:
            fail(err)
            failed = True
            continue
        result = check_calendar(path)
        for p in result.errors:
            err_console.print(f"{p.file}:{p.line or ''}: [bold red]lỗi:[/] {p.message}", highlight=False, soft_wrap=True)
        for p in result.warnings:
            console.print(f"{p.file}:{p.line or ''}: [yellow]cảnh báo:[/] {p.message}", highlight=False, soft_wrap=True)
        if result.ok:
            n = len(result.calendar.milestones)
            console.print(f"[green]OK[/] {path} ({n} mốc, {len(result.warnings)} cảnh báo)", highlight=False, soft_wrap=True)
        else:
            failed = True
            err_console.print(f"[bold red]KHÔNG HỢP LỆ[/] {path} ({len(result.errors)} lỗi, "
                              f"{len(result.warnings)} cảnh báo)", highlight=False, soft_wrap=True)
    if failed:
        raise typer.Exit(1)


@cal_app.command("show")
def show_cmd(
    file: str = typer.Argument(..., help="Tệp lịch (.yaml) hoặc tên lịch có sẵn"),
    ics: Path | None = typer.Option(None, "--ics", help="Xuất thêm ra tệp iCalendar (.ics)"),
) -> None:
    """Hiển thị các mốc theo thời gian; có thể xuất iCalendar."""
    try:
        cal = load_calendar(find_calendar(file))
    except CdsError as err:
        # One line per problem, never wrapped: "file:line: message" stays clickable/greppable.
        err_console.print(f"[bold red]Lỗi:[/] {err.message}", highlight=False, soft_wrap=True)
        for detail in err.details:
            err_console.print(f"  - {detail}", highlight=False, soft_wrap=True)
        raise typer.Exit(err.exit_code) from None
    if cal.issued_on:
        issued = timeutil.format_date_vi(cal.issued_on)
    elif "issued_month" in cal.extra:
        year, month = cal.extra["issued_month"].split("-")
        issued = f"tháng {month}/{year}"
    else:
        issued = "không rõ ngày"
    table = Table(title=f"{cal.issuer} – năm học {cal.school_year}", caption=f"Ban hành: {issued}")
    for col in ("TT", "Nội dung", "Đối tượng", "Giai đoạn", "Hạn", "Văn bản"):
        table.add_column(col)
    for row in timeline(cal):
        table.add_row(str(row.number), row.title, row.actor, row.stage, row.deadline, row.documents)
    console.print(table)
    for ref in cal.references:
        console.print(f"Căn cứ: {ref}", highlight=False)
    if ics is not None:
        from cdsflow.calendars.ics import to_ics, undated  # icalendar costs every command ~0.2 s of start-up

        data = to_ics(cal)
        ics.write_bytes(data)
        left = undated(cal)  # the count said is the events written, and the rest are named
        console.print(f"Đã xuất {data.count(b'BEGIN:VEVENT')} sự kiện ra {ics}", highlight=False)
        if left:
            console.print(f"Không xuất {len(left)} mốc không có ngày cố định (hạn tương đối hoặc mốc không ngày): "
                          + ", ".join(f"«{m.title}»" for m in left), highlight=False)


@cal_app.command("export")
def export_cmd(
    source: str = typer.Argument(..., help="Lịch có sẵn (hanoi/ba-dinh-2024-2025), saved:SỐ (lịch đã lưu) hoặc tệp .yaml"),
    out: Path = typer.Argument(..., help="Tệp Excel (.xlsx) sẽ ghi"),
    to_year: str | None = typer.Option(None, "--to-year", help="Dời sang năm học này trước khi xuất (ví dụ 2027-2028)"),
) -> None:
    """Xuất lịch ra Excel (cùng các cột với bảng soạn lịch trên web)."""
    with _calendar_errors(), wiring.uow() as uow:
        draft = svc.draft_of(uow, None, source)
        flags = []
        if to_year:
            draft, flags = svc.shift(draft, to_year)
        write_calendar_workbook(draft, out)
    _print_flags(flags)
    console.print(f"Đã xuất {len(draft.rows)} mốc ra {out}", highlight=False)


@cal_app.command("shift")
def shift_cmd(
    source: str = typer.Argument(..., help="Lịch có sẵn, saved:SỐ, tệp .yaml hoặc .xlsx"),
    to_year: str = typer.Option(..., "--to", help="Năm học đích, ví dụ 2027-2028"),
    out: Path | None = typer.Option(None, "--out", "-o", help="Ghi kết quả ra tệp .yaml hoặc .xlsx"),
) -> None:
    """Dời lịch sang năm học khác; báo ngày rơi vào cuối tuần hoặc ngày lễ kèm ngày làm việc đề xuất."""
    with _calendar_errors(), wiring.uow() as uow:
        draft, flags = svc.shift(svc.draft_of(uow, None, source), to_year)
    check = svc.validate(draft)
    _print_flags(flags)
    for p in check.problems:
        (err_console if p.severity == "error" else console).print(
            f"{'lỗi' if p.severity == 'error' else 'cảnh báo'}: {p.text}", highlight=False, soft_wrap=True)
    if out is not None:
        if out.suffix.lower() == ".xlsx":
            write_calendar_workbook(draft, out)
        else:
            out.write_text(check.yaml, encoding="utf-8")
        console.print(f"Đã ghi {out}", highlight=False)
    if not check.ok:
        raise typer.Exit(1)


@cal_app.command("import")
def import_cmd(
    file: Path = typer.Argument(..., help="Tệp Excel (.xlsx) của lịch"),
    unit: str = typer.Option(..., "--unit", help="Mã đơn vị sở hữu lịch (Sở/Phòng)"),
    by: str = typer.Option("cán bộ phụ trách", "--by", help="Người nhập"),
) -> None:
    """Nhập lịch từ Excel thành phiên bản mới của đơn vị; dòng sai được nêu tên, lỗi thì không lưu gì."""
    with _calendar_errors(), wiring.uow() as uow:
        row = svc.import_workbook(uow, get_unit(uow, unit).id, file, actor=by)
        console.print(f"Đã lưu lịch saved:{row.id} ({row.issuer}, năm học {row.school_year}, phiên bản {row.version})",
                      highlight=False)


@cal_app.command("list")
def list_cmd() -> None:
    """Liệt kê các lịch có sẵn."""
    table = Table(title="Lịch có sẵn")
    table.add_column("Tên", no_wrap=True)
    for col in ("Đơn vị ban hành", "Năm học", "Số mốc"):
        table.add_column(col)
    for path in shipped_calendars():
        result = check_calendar(path)
        cal = result.calendar
        if cal is None:
            table.add_row(calendar_name(path), "[red]không hợp lệ[/]", "", "")
        else:
            table.add_row(calendar_name(path), cal.issuer, cal.school_year, str(len(cal.milestones)))
    console.print(table)


def register(app: typer.Typer) -> None:
    app.add_typer(cal_app, name="calendar")
