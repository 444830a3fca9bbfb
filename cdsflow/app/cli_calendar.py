"""`cdsflow calendar …`: check, show (and export .ics), list. Translation only."""
from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from cdsflow.app.console import console, err_console, fail
from cdsflow.workflow.errors import CdsError


def register(app: typer.Typer) -> None:
    cal_app = typer.Typer(help="Lịch triển khai: kiểm tra, xem, xuất iCalendar.", no_args_is_help=True)
    app.add_typer(cal_app, name="calendar")

    @cal_app.command("check")
    def check_cmd(files: list[str] = typer.Argument(..., help="Tệp lịch (.yaml) hoặc tên lịch có sẵn")) -> None:
        """Kiểm tra tệp lịch: báo lỗi và cảnh báo kèm số dòng."""
        from cdsflow.calendars.catalog import find_calendar
        from cdsflow.calendars.validator import check_calendar

        failed = False
        for name in files:
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
        from cdsflow.calendars import timeutil
        from cdsflow.calendars.catalog import find_calendar
        from cdsflow.calendars.ics import to_ics
        from cdsflow.calendars.loader import load_calendar
        from cdsflow.calendars.timeline import timeline

        try:
            cal = load_calendar(find_calendar(file))
        except CdsError as err:
            fail(err)
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
            ics.write_bytes(to_ics(cal))
            console.print(f"Đã xuất {len(cal.milestones)} mốc ra {ics}", highlight=False)

    @cal_app.command("list")
    def list_cmd() -> None:
        """Liệt kê các lịch có sẵn."""
        from cdsflow.calendars.catalog import calendar_name, shipped_calendars
        from cdsflow.calendars.validator import check_calendar

        table = Table(title="Lịch có sẵn")
        for col in ("Tên", "Đơn vị ban hành", "Năm học", "Số mốc"):
            table.add_column(col)
        for path in shipped_calendars():
            result = check_calendar(path)
            cal = result.calendar
            if cal is None:
                table.add_row(calendar_name(path), "[red]không hợp lệ[/]", "", "")
            else:
                table.add_row(calendar_name(path), cal.issuer, cal.school_year, str(len(cal.milestones)))
        console.print(table)
