"""Core commands: init, units, campaign, assessment, committee, demo. Translation only."""
from __future__ import annotations

from datetime import datetime
from pathlib import Path

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from cdsflow.app import wiring
from cdsflow.app.cli_reader import READER_HELP, reader
from cdsflow.app.console import console, local
from cdsflow.calendars.catalog import find_calendar
from cdsflow.calendars.loader import load_calendar
from cdsflow.calendars.timeutil import TZ
from cdsflow.kernel.errors import InvalidInput
from cdsflow.kernel.stages import Stage
from cdsflow.services import assessments as assessment_svc
from cdsflow.services import authorization, result_lines, ward_picker
from cdsflow.services import campaigns as campaign_svc
from cdsflow.services import units as unit_svc
from cdsflow.services.demo import build_demo
from cdsflow.services.papers import generate
from cdsflow.storage.db import UnitOfWork, database_url
from cdsflow.storage.tabular import read_table
from cdsflow.workflow.context import ActorRef
from cdsflow.workflow.machine import history_text
from cdsflow.workflow.units import EducationLevel, UnitKind, parse_kind

units_app = typer.Typer(help="Đơn vị: Sở, Phòng, cơ sở giáo dục.", no_args_is_help=True)
campaign_app = typer.Typer(help="Kế hoạch đánh giá (chiến dịch hằng năm).", no_args_is_help=True)
assessment_app = typer.Typer(help="Hồ sơ đánh giá của từng cơ sở giáo dục.", no_args_is_help=True)
committee_app = typer.Typer(help="Hội đồng tự đánh giá.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.command("init")(init_cmd)
    app.command("demo")(demo_cmd)
    app.add_typer(units_app, name="units")
    app.add_typer(campaign_app, name="campaign")
    app.add_typer(assessment_app, name="assessment")
    app.add_typer(committee_app, name="committee")


def init_cmd() -> None:
    """Tạo hoặc nâng cấp cơ sở dữ liệu."""
    from cdsflow.storage.migrate import init_db  # Alembic costs every other command ~0.25 s of start-up

    url = database_url()
    engine = wiring.engine()
    init_db(engine)
    with wiring.uow(engine) as u:
        filled = result_lines.fill_if_missing(u.session)
        u.commit()
    console.print(f"Đã khởi tạo cơ sở dữ liệu: {url.split('@')[-1]}")
    if filled:
        console.print(f"Đã lập bảng kết quả cho danh sách: {filled} hồ sơ đã có điểm.")


# --- units -----------------------------------------------------------------------------------


@units_app.command("import")
def units_import(file: Path = typer.Argument(..., help="Tệp .csv hoặc .xlsx")) -> None:
    """Nhập danh sách đơn vị (nhập tất cả hoặc không nhập gì nếu có dòng lỗi)."""
    with wiring.uow() as u:
        report = unit_svc.import_units_file(u, file)
    console.print(f"Đã nhập {report.total} đơn vị: {report.created} mới, {report.updated} cập nhật, "
                  f"{report.unchanged} không đổi.")


@units_app.command("list")
def units_list(
    under: str = typer.Option(None, "--under", help="Chỉ các đơn vị trực thuộc mã này"),
    kind: str = typer.Option(None, "--kind", help="Sở | Phòng | Trường"),
) -> None:
    """Liệt kê đơn vị."""
    parsed = None
    if kind:
        parsed = parse_kind(kind)
        if parsed is None:
            raise typer.BadParameter(f"loại đơn vị không rõ: {kind}")
    with wiring.uow() as u:
        rows = unit_svc.list_units(u, under=under, kind=parsed)
        codes = {r.id: r.code for r in rows} | {
            r.supervisor_id: unit_svc.get_unit_code(u, r.supervisor_id) for r in rows if r.supervisor_id
        }
    table = Table("Mã", "Tên đơn vị", "Loại", "Cấp học", "Ký hiệu", "Cấp trên", title=f"{len(rows)} đơn vị")

    for r in rows:
        table.add_row(r.code, r.name, UnitKind(r.kind).label,
                      EducationLevel(r.education_level).label if r.education_level else "", r.short_code,
                      codes.get(r.supervisor_id, ""))
    console.print(table)


@units_app.command("rename")
def units_rename(
    code: str = typer.Argument(..., help="Mã đơn vị"),
    name: str = typer.Option(..., "--name", help="Tên mới, ví dụ «Phòng Văn hóa - Xã hội phường Ba Đình»"),
    from_day: str = typer.Option(..., "--from", help="Ngày bắt đầu mang tên mới (YYYY-MM-DD), ví dụ 2025-07-01"),
    parent_org: str = typer.Option(None, "--parent-org", help="Cơ quan chủ quản mới, ví dụ «UBND phường Ba Đình»"),
    place: str = typer.Option(None, "--place", help="Địa danh ghi ở dòng ngày tháng"),
    by: str = typer.Option("quản trị viên", "--by", help="Người ghi nhận"),
) -> None:
    """Đổi tên đơn vị từ một ngày: văn bản ghi ngày trước đó vẫn mang tên cũ."""
    try:
        day = datetime.strptime(from_day.strip(), "%Y-%m-%d").date()
    except ValueError:
        raise typer.BadParameter(f"ngày không hợp lệ «{from_day}» (dạng YYYY-MM-DD, ví dụ 2025-07-01)") from None
    with wiring.uow() as u:
        unit = unit_svc.rename_unit(u, code, name=name, from_day=day, parent_org=parent_org, place_name=place,
                                    actor=by)
        console.print(f"Đã ghi: {unit.code} mang tên «{unit.name}» từ ngày {day:%d/%m/%Y}; "
                      "văn bản ghi ngày trước đó giữ tên cũ.")


@units_app.command("names")
def units_names(code: str = typer.Argument(..., help="Mã đơn vị")) -> None:
    """Các tên của đơn vị theo thời gian (tên in trên văn bản theo ngày của văn bản)."""
    with wiring.uow() as u:
        unit = unit_svc.get_unit(u, code)
        history = unit_svc.former_names(u.session, unit.id)
        table = Table("Đến hết ngày", "Tên đơn vị", "Cơ quan chủ quản", title=f"Tên của đơn vị {unit.code}")
        for n in history:
            table.add_row(f"{n.valid_until:%d/%m/%Y}", n.name, n.parent_org)
        table.add_row("nay", unit.name, unit.parent_org)
    console.print(table)


# --- campaigns -------------------------------------------------------------------------------


@campaign_app.command("launch")
def campaign_launch(
    issuer: str = typer.Option(..., "--issuer", help="Mã đơn vị ban hành kế hoạch"),
    school_year: str = typer.Option(..., "--year", help="Năm học, ví dụ 2024-2025"),
    index_set: str = typer.Option("4725", "--index-set", help="Bộ chỉ số: 4725, 3276, 3806"),
    calendar: str = typer.Option(None, "--calendar", help="Tệp lịch (.yaml) hoặc tên lịch có sẵn"),
    title: str = typer.Option(None, "--title"),
    schools: str = typer.Option(None, "--schools", help="Chỉ các mã này (phân cách bằng dấu phẩy)"),
    children: bool = typer.Option(False, "--children", help="Sở: tạo kế hoạch con cho từng Phòng"),
    by: str = typer.Option("cán bộ phụ trách", "--by", help="Người phát động"),
) -> None:
    """Phát động kế hoạch đánh giá cho các cơ sở giáo dục trực thuộc."""
    cal = load_calendar(find_calendar(calendar)) if calendar else None
    with Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=console, transient=True) as bar, wiring.uow() as u:
        task = bar.add_task("Mở hồ sơ các trường", total=None)
        result = campaign_svc.launch_campaign(
            u, issuer_code=issuer, school_year=school_year, index_set=index_set, calendar=cal, title=title,
            school_codes=[c.strip() for c in schools.split(",") if c.strip()] if schools else None,
            spawn_children=children, actor=by,
            progress=lambda done, total: bar.update(task, completed=done, total=total),
        )
    extra = f", {len(result.child_ids)} kế hoạch con" if result.child_ids else ""
    console.print(f"Đã phát động kế hoạch số {result.campaign_id}: {result.assessments} cơ sở giáo dục{extra}.")
    if result.left_out:  # what the web preview shows before launching, said after it here
        console.print(f"Không thuộc kế hoạch: {len(result.left_out)} cơ sở")
        for name, why in result.left_out[:50]:
            console.print(f"  - {name}: {why}", highlight=False)
        if len(result.left_out) > 50:
            console.print(f"  … và {len(result.left_out) - 50} cơ sở khác")
    for warning in result.warnings:
        console.print(f"[yellow]Cảnh báo:[/] {warning}", highlight=False)


@campaign_app.command("list")
def campaign_list(issuer: str = typer.Option(None, "--issuer"),
                  unit: str = typer.Option(None, "--unit", help=READER_HELP)) -> None:
    """Liệt kê kế hoạch."""
    with wiring.uow() as u:
        visible = set(authorization.readable_campaign_ids(u.session, reader(u, unit)))
        rows = [r for r in campaign_svc.list_campaigns(u, issuer_code=issuer) if r.id in visible]
    table = Table("Số", "Đơn vị ban hành", "Năm học", "Bộ chỉ số", "Trạng thái", "Số CSGD", "Thuộc KH", "Tên kế hoạch")
    for r in rows:
        table.add_row(str(r.id), r.issuer_name, r.school_year, r.index_set_code, r.status.label, str(r.assessments),
                      str(r.parent_id or ""), r.title)
    console.print(table)


@campaign_app.command("status")
def campaign_status(
    campaign_id: int = typer.Argument(..., help="Số kế hoạch"),
    late: int = typer.Option(20, "--late", help="Số trường chậm hạn hiển thị tối đa"),
    at: datetime = typer.Option(None, "--at", help="Xem tại thời điểm (mặc định: bây giờ)"),
    unit: str = typer.Option(None, "--unit", help=READER_HELP),
    page: int = typer.Option(1, "--page", help="Trang của danh sách theo Phòng/xã, phường"),
    ward: str = typer.Option("", "--ward", help="Tìm Phòng/xã, phường theo tên (không cần dấu)"),
) -> None:
    """Số trường theo từng giai đoạn, các Phòng/xã, phường chậm nhất và các trường chậm hạn."""
    now = at.replace(tzinfo=TZ) if at and at.tzinfo is None else at
    with wiring.uow() as u:
        authorization.readable_campaign(u.session, reader(u, unit), campaign_id)
        s = campaign_svc.campaign_status(u, campaign_id, now=now, late_limit=late)
        if not s.children and (ward or page != 1):
            raise InvalidInput(f"Kế hoạch số {campaign_id} không có kế hoạch con theo Phòng/xã, phường: "
                               "không dùng --page hay --ward")
        lines = ward_picker.ward_lines(u.session, campaign_id, now=now) if s.children else []
        wards = ward_picker.search_lines(lines, campaign_id, q=ward, page=page) if s.children else None
    console.print(f"[bold]{s.title}[/]\n{s.issuer_name} · năm học {s.school_year} · bộ chỉ số {s.index_set} · "
                  f"{s.status.label}\nĐã nộp tờ trình: [bold]{s.submitted}/{s.total}[/] · chậm hạn: "
                  f"[bold red]{s.late_total}[/]")
    table = Table("Giai đoạn", "Số CSGD", "Mốc kế tiếp", "Hạn", "")
    for line in s.stages:
        m = line.next_milestone
        table.add_row(line.stage.label, str(line.count), m.title if m else "", local(m.due_at) if m else "",
                      "[red]quá hạn[/]" if line.late and line.count else "")
    console.print(table)
    if wards is not None:
        _print_wards(lines, wards)
    if s.late:
        late_table = Table("Hồ sơ", "Mã", "Cơ sở giáo dục", "Giai đoạn", "Chậm mốc", "Hạn",
                           title=f"Chậm hạn ({len(s.late)}/{s.late_total})")
        for x in s.late:
            late_table.add_row(str(x.assessment_id), x.school_code, x.school_name, x.stage.label, x.milestone.title,
                               local(x.milestone.due_at))
        console.print(late_table)
    if wards is not None and (wards.pages > 1 or wards.q):
        # The last line says how to see more: the output stays short whatever the number of wards.
        more = f"cdsflow campaign status {campaign_id}" + (f' --ward "{wards.q}"' if wards.q else "")
        hint = f"xem trang sau: {more} --page {wards.page + 1}; " if wards.page < wards.pages else ""
        console.print(f"Phòng/xã, phường: trang {wards.page}/{wards.pages} · {hint}"
                      f"tìm một đơn vị: cdsflow campaign status {campaign_id} --ward \"tên\"", highlight=False)


def _print_wards(lines: list[ward_picker.WardLine], wards: ward_picker.WardPage[ward_picker.WardLine]) -> None:
    """The summary of the wards (how many, the most late) and one page of them."""
    late = ward_picker.most_late(lines)
    console.print(f"Phòng/xã, phường: [bold]{len(lines)}[/] đơn vị · có cơ sở chậm hạn: "
                  f"[bold red]{sum(1 for w in lines if w.late)}[/]")
    if late:
        worst = Table("Kế hoạch", "Đơn vị", "Đã nộp", "Chậm hạn",
                      title=f"Chậm hạn nhiều nhất ({len(late)} đơn vị)")
        for w in late:
            worst.add_row(str(w.campaign_id or ""), w.name, f"{w.submitted}/{w.total}", str(w.late))
        console.print(worst)
    if wards.q:
        console.print(f"Tìm «{wards.q}»: {wards.total}/{wards.all} đơn vị khớp", highlight=False)
    kids = Table("Kế hoạch", "Đơn vị", "Đã nộp", "Chậm hạn",
                 title=f"Theo Phòng/xã, phường (trang {wards.page}/{wards.pages})")
    for w in wards.rows:
        kids.add_row(str(w.campaign_id or ""), w.name, f"{w.submitted}/{w.total}", str(w.late))
    console.print(kids)


@campaign_app.command("advance")
def campaign_advance(
    campaign_id: int = typer.Argument(...),
    step: str = typer.Argument(..., help="start_review | recognise | publish | close"),
    by: str = typer.Option("cán bộ phụ trách", "--by", help="Người thực hiện"),
    unit: str = typer.Option(None, "--unit", help="Mã đơn vị của người thực hiện (mặc định: đơn vị ban hành)"),
) -> None:
    """Chuyển trạng thái kế hoạch."""
    with wiring.uow() as u:
        actor = ActorRef(by, unit_svc.get_unit(u, unit).id) if unit else None
        new = campaign_svc.advance_campaign(u, campaign_id, step, actor)
    console.print(f"Kế hoạch số {campaign_id}: {new.label}")


# --- assessments -----------------------------------------------------------------------------


def _actor(u: UnitOfWork, assessment_id: int, trigger: str, by: str, unit: str | None) -> ActorRef:
    unit_id = unit_svc.get_unit(u, unit).id if unit else assessment_svc.acting_unit_for(u, assessment_id, trigger)
    return ActorRef(by, unit_id)


REF_HELP = "Số hồ sơ, hoặc mã cơ sở giáo dục"


@assessment_app.command("show")
def assessment_show(ref: str = typer.Argument(..., help=REF_HELP), campaign: int = typer.Option(None, "--campaign"),
                    unit: str = typer.Option(None, "--unit", help=READER_HELP)) -> None:
    """Xem hồ sơ đánh giá của một cơ sở giáo dục."""
    with wiring.uow() as u:
        aid = assessment_svc.find_assessment(u, ref, campaign).id
        authorization.readable_assessment(u.session, reader(u, unit), aid)
        v = assessment_svc.show_assessment(u, aid)
    console.print(f"[bold]{v.school_name}[/] ({v.school_code}) · hồ sơ số {v.id} · phiên bản {v.version}\n"
                  f"Kế hoạch số {v.campaign_id}: {v.campaign_title}\n"
                  f"Giai đoạn: [bold]{v.stage.label}[/]{' · đã khóa' if v.locked else ''} · "
                  f"số lần gửi tờ trình: {v.proposal_count}")
    if v.next_milestone:
        console.print(f"Mốc kế tiếp: {v.next_milestone[0]} (hạn {local(v.next_milestone[1])})")
    if v.committee:
        table = Table("TT", "Họ và tên", "Chức vụ", "Vai trò", title="Hội đồng tự đánh giá")
        for i, m in enumerate(v.committee, 1):
            table.add_row(str(i), m.full_name, m.position, assessment_svc.ROLE_LABELS[m.role])
        console.print(table)


@assessment_app.command("history")
def assessment_history(ref: str = typer.Argument(..., help=REF_HELP), campaign: int = typer.Option(None, "--campaign"),
                       unit: str = typer.Option(None, "--unit", help=READER_HELP)) -> None:
    """Lịch sử các bước của hồ sơ."""
    with wiring.uow() as u:
        aid = assessment_svc.find_assessment(u, ref, campaign).id
        authorization.readable_assessment(u.session, reader(u, unit), aid)
        lines = assessment_svc.history(u, aid)
    table = Table("Thời điểm", "Người thực hiện", "Từ", "Đến", "Nội dung")
    for e in lines:
        notes = ((e.details or {}).get("criteria") or {}).items()
        table.add_row(local(e.at), e.actor, Stage(e.from_state).label if e.from_state else "", Stage(e.to_state).label,
                      history_text(e.trigger, e.reason) + "".join(f"\n{k}: {v}" for k, v in notes))
    console.print(table)


@assessment_app.command("advance")
def assessment_advance(
    ref: str = typer.Argument(..., help=REF_HELP),
    step: str = typer.Option("advance", "--step", help="Mặc định: bước kế tiếp"),
    by: str = typer.Option(..., "--by", help="Người thực hiện"),
    unit: str = typer.Option(None, "--unit", help="Mã đơn vị của người thực hiện"),
    campaign: int = typer.Option(None, "--campaign"),
    version: int = typer.Option(None, "--version", help="Phiên bản hồ sơ đang xem (chống ghi đè)"),
    override: str = typer.Option("", "--override",
                                 help="Chỉ khi công nhận: lý do công nhận không qua đánh giá ngoài đầy đủ"),
) -> None:
    """Chuyển hồ sơ sang giai đoạn kế tiếp (hoặc bước --step)."""
    with wiring.uow() as u:
        aid = assessment_svc.find_assessment(u, ref, campaign).id
        actor = _actor(u, aid, step, by, unit)
        new = assessment_svc.transition(u, aid, step, actor, override_reason=override, expected_version=version)
    console.print(f"Hồ sơ số {aid}: {new.label}")


@assessment_app.command("return")
def assessment_return(
    ref: str = typer.Argument(..., help=REF_HELP),
    reason: str = typer.Option(..., "--reason", help="Lý do yêu cầu bổ sung"),
    criterion: list[str] = typer.Option([], "--criterion", help="MÃ=ghi chú, ví dụ 1.3=Thiếu minh chứng"),
    grant_extra_send: bool = typer.Option(False, "--grant-extra-send",
                                          help="Cho phép trường gửi thêm một lần khi đã hết lượt gửi (ghi vào lịch sử)"),
    by: str = typer.Option(..., "--by"),
    unit: str = typer.Option(None, "--unit"),
    campaign: int = typer.Option(None, "--campaign"),
    version: int = typer.Option(None, "--version"),
) -> None:
    """Trả hồ sơ để cơ sở giáo dục bổ sung."""
    notes = {}
    for item in criterion:
        code, sep, note = item.partition("=")
        if not sep:
            raise typer.BadParameter(f"cần dạng MÃ=ghi chú: {item}")
        notes[code.strip()] = note.strip()
    with wiring.uow() as u:
        aid = assessment_svc.find_assessment(u, ref, campaign).id
        actor = _actor(u, aid, "return_for_supplement", by, unit)
        new = assessment_svc.transition(u, aid, "return_for_supplement", actor, reason=reason,
                                        criteria_notes=notes, expected_version=version,
                                        grant_extra_send=grant_extra_send)
    console.print(f"Hồ sơ số {aid}: {new.label} (đã trả lại để bổ sung)")


# --- committee -------------------------------------------------------------------------------

COMMITTEE_COLUMNS = {
    "full_name": ["Họ và tên", "ho_ten"],
    "position": ["Chức vụ", "chuc_vu"],
    "role": ["Vai trò", "vai_tro", "nhiệm vụ trong hội đồng"],
    "duties": ["Nhiệm vụ", "nhiem_vu"],
    "email": ["Email"],
    "phone": ["Điện thoại", "dien_thoai", "số điện thoại"],
}


@committee_app.command("set")
def committee_set(
    ref: str = typer.Argument(..., help=REF_HELP),
    file: Path = typer.Argument(..., help="Tệp .csv/.xlsx: Họ và tên, Chức vụ, Vai trò, Email, Điện thoại"),
    by: str = typer.Option(..., "--by"),
    campaign: int = typer.Option(None, "--campaign"),
    version: int = typer.Option(None, "--version"),
) -> None:
    """Lập (thay) danh sách Hội đồng tự đánh giá."""
    rows = read_table(file, COMMITTEE_COLUMNS)
    members = [assessment_svc.MemberInput(**{k: r.get(k, "") for k in COMMITTEE_COLUMNS}) for _, r in rows]
    with wiring.uow() as u:
        aid = assessment_svc.find_assessment(u, ref, campaign).id
        actor = _actor(u, aid, "set_committee", by, None)
        n = assessment_svc.set_committee(u, aid, members, actor, expected_version=version)
    console.print(f"Hồ sơ số {aid}: đã lưu Hội đồng {n} thành viên.")


# --- demo ------------------------------------------------------------------------------------


def demo_cmd() -> None:
    """Tạo dữ liệu mẫu: một Phòng kiểu Ba Đình với ~30 trường ở các giai đoạn khác nhau."""
    with wiring.uow() as u:
        summary = build_demo(u, progress=lambda msg: console.print(f"  {msg}"),
                             issue_decision=lambda cid: generate(u.engine, "qd_cong_nhan", campaign_id=cid,
                                                                 actor="Văn thư (dữ liệu mẫu)"))
    console.print(summary)
