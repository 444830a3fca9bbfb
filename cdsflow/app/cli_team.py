"""`cdsflow team`: form the external review team from a list, schedule its visits, show it. Translation only."""
from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import typer
from rich.table import Table

from cdsflow.app import wiring
from cdsflow.app.cli_reader import READER_HELP, reader
from cdsflow.app.console import console, local
from cdsflow.kernel.errors import InvalidInput
from cdsflow.services import authorization
from cdsflow.services import review_teams as svc
from cdsflow.services.units import get_unit
from cdsflow.storage.db import UnitOfWork
from cdsflow.storage.tabular import read_table
from cdsflow.workflow.context import ActorRef

team_app = typer.Typer(help="Đoàn đánh giá ngoài của một kế hoạch.", no_args_is_help=True)

TEAM_COLUMNS = {
    "full_name": ["Họ và tên", "ho_ten", "họ tên"],
    "position": ["Chức vụ", "chuc_vu"],
    "workplace": ["Đơn vị công tác", "don_vi_cong_tac", "đơn vị"],
    "role": ["Nhiệm vụ trong đoàn", "nhiem_vu", "nhiệm vụ", "vai trò"],
    "username": ["Tài khoản", "tai_khoan", "tên đăng nhập"],
}
UNIT_HELP = "Mã đơn vị người thực hiện đại diện (mặc định: người vận hành hệ thống)"


def register(app: typer.Typer) -> None:
    app.add_typer(team_app, name="team")


def _actor(u: UnitOfWork, by: str, unit: str | None) -> ActorRef:
    return ActorRef(by, get_unit(u, unit).id if unit else None)


def _day(value: str | None, option: str) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise InvalidInput(f"{option}: ngày không hợp lệ «{value}» (dạng YYYY-MM-DD, ví dụ 2025-04-15)") from None


@team_app.command("set")
def team_set(
    campaign_id: int = typer.Argument(..., help="Số kế hoạch"),
    file: Path = typer.Argument(..., help="Tệp .csv/.xlsx: Họ và tên, Chức vụ, Đơn vị công tác, Nhiệm vụ trong đoàn"),
    by: str = typer.Option(..., "--by", help="Người lập đoàn"),
    name: str = typer.Option("", "--name", help="Tên đoàn (mặc định: Đoàn đánh giá ngoài … năm học …)"),
    start: str = typer.Option(None, "--from", help="Từ ngày YYYY-MM-DD (mặc định: theo lịch của kế hoạch)"),
    end: str = typer.Option(None, "--to", help="Đến ngày YYYY-MM-DD"),
    unit: str = typer.Option(None, "--unit", help=UNIT_HELP),
) -> None:
    """Thành lập (hoặc thay) Đoàn đánh giá ngoài từ danh sách thành viên."""
    rows = read_table(file, TEAM_COLUMNS)
    members = [svc.TeamMemberInput(**{k: r.get(k, "") for k in TEAM_COLUMNS}) for _, r in rows]
    period = _day(start, "--from"), _day(end, "--to")
    with wiring.uow() as u:
        try:
            view = svc.set_team(u, campaign_id, members, _actor(u, by, unit), name=name,
                                period_start=period[0], period_end=period[1])
        except InvalidInput as err:
            # The service counts members; the officer reads the spreadsheet's row numbers.
            numbers = [n for n, _ in rows]
            err.details = [re.sub(r"^Thành viên (\d+)", lambda m: f"Dòng {numbers[int(m[1]) - 1]}", d)
                           for d in err.details]
            raise
    console.print(f"Kế hoạch số {campaign_id}: đã lưu {view.name} ({len(view.members)} thành viên, "
                  f"từ {view.period_start:%d/%m/%Y} đến {view.period_end:%d/%m/%Y}).")


@team_app.command("visit")
def team_visit(
    campaign_id: int = typer.Argument(..., help="Số kế hoạch"),
    school: str = typer.Argument(..., help="Mã cơ sở giáo dục (hoặc số hồ sơ)"),
    day: str = typer.Option(None, "--date", help="Ngày làm việc YYYY-MM-DD"),
    session: str = typer.Option("sáng", "--session", help="Buổi: sáng | chiều"),
    remove: bool = typer.Option(False, "--remove", help="Bỏ lịch làm việc tại cơ sở này"),
    by: str = typer.Option("cán bộ phụ trách", "--by", help="Người xếp lịch"),
    unit: str = typer.Option(None, "--unit", help=UNIT_HELP),
) -> None:
    """Xếp (hoặc bỏ) lịch làm việc của đoàn tại một cơ sở đã gửi tờ trình."""
    if not remove and not day:
        raise InvalidInput("Cần --date YYYY-MM-DD (hoặc --remove để bỏ lịch)")
    with wiring.uow() as u:
        view = svc.schedule_visits(u, campaign_id, [svc.VisitInput(school, None if remove else _day(day, "--date"),
                                                                   session)], _actor(u, by, unit))
    hit = next(s for s in view.schools if school in (s.school_code, str(s.assessment_id)))
    if hit.visit_date is None:
        console.print(f"Đã bỏ lịch làm việc tại {hit.school_name}.")
    else:
        console.print(f"Đã xếp lịch: {hit.school_name}, buổi {hit.session} ngày {hit.visit_date:%d/%m/%Y}.")


@team_app.command("show")
def team_show(campaign_id: int = typer.Argument(..., help="Số kế hoạch"),
              unit: str = typer.Option(None, "--unit", help=READER_HELP)) -> None:
    """Xem Đoàn đánh giá ngoài và lịch làm việc."""
    with wiring.uow() as u:
        authorization.readable_campaign(u.session, reader(u, unit), campaign_id, "view_team")
        view = svc.show_team(u, campaign_id)
    if not view.exists:
        console.print(f"Kế hoạch số {campaign_id} chưa có Đoàn đánh giá ngoài (lập bằng «cdsflow team set»).")
    else:
        console.print(f"[bold]{view.name}[/]\nThời gian làm việc: từ {view.period_start:%d/%m/%Y} đến "
                      f"{view.period_end:%d/%m/%Y} · lập bởi {view.created_by} lúc {local(view.created_at)}")
        members = Table("TT", "Họ và tên", "Chức vụ, đơn vị công tác", "Nhiệm vụ trong đoàn", "Tài khoản")
        for i, m in enumerate(view.members, 1):
            members.add_row(str(i), m.full_name, ", ".join(x for x in (m.position, m.workplace) if x), m.role_label,
                            m.username)
        console.print(members)
    if not view.schools:
        console.print("Chưa có cơ sở nào gửi tờ trình đề nghị đánh giá ngoài.")
        return
    visits = Table("Mã", "Cơ sở giáo dục", "Giai đoạn", "Ngày", "Buổi", title="Lịch làm việc")
    for s in view.schools:
        visits.add_row(s.school_code, s.school_name, s.stage.label,
                       s.visit_date.strftime("%d/%m/%Y") if s.visit_date else "chưa xếp", s.session)
    console.print(visits)
