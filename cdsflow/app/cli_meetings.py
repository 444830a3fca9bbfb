"""`cdsflow committee meeting`: the council records its meeting facts (printed by the Biên bản)."""
from __future__ import annotations

from pathlib import Path

import typer
import yaml

from cdsflow.app import wiring
from cdsflow.app.cli_core import committee_app
from cdsflow.app.console import console, local
from cdsflow.kernel.errors import InvalidInput
from cdsflow.services import assessments as assessment_svc
from cdsflow.services.meetings import meeting_input, record_meeting
from cdsflow.workflow.context import ActorRef


def meeting_cmd(
    ref: str = typer.Argument(..., help="Số hồ sơ, hoặc mã cơ sở giáo dục"),
    by: str = typer.Option(..., "--by", help="Người ghi (thư ký Hội đồng)"),
    at: str | None = typer.Option(None, "--at", help="Giờ bắt đầu, ví dụ «2026-03-10 08:00»"),
    end: str | None = typer.Option(None, "--end", help="Giờ kết thúc, ví dụ «10:30» hoặc «2026-03-10 10:30»"),
    place: str | None = typer.Option(None, "--place", help="Địa điểm họp"),
    chair: str | None = typer.Option(None, "--chair", help="Người chủ trì (họ tên)"),
    secretary: str | None = typer.Option(None, "--secretary", help="Thư ký cuộc họp (họ tên)"),
    present: int | None = typer.Option(None, "--present", help="Số thành viên có mặt"),
    total: int | None = typer.Option(None, "--total", help="Tổng số thành viên Hội đồng"),
    absent: list[str] = typer.Option([], "--absent", help="Người vắng: «Họ tên=lý do» (lặp lại được)"),
    vote_for: int | None = typer.Option(None, "--for", help="Số phiếu tán thành"),
    vote_against: int = typer.Option(0, "--against", help="Số phiếu không tán thành"),
    vote_abstain: int = typer.Option(0, "--abstain", help="Số thành viên không biểu quyết"),
    conclusions: str = typer.Option("", "--conclusions", help="Kết luận cuộc họp"),
    file: Path | None = typer.Option(None, "--file", help="Tệp YAML có các mục trên (start, end, place, …)"),
    campaign: int | None = typer.Option(None, "--campaign"),
) -> None:
    """Ghi thông tin cuộc họp Hội đồng tự đánh giá (Biên bản in đúng thông tin này)."""
    values: dict = {}
    if file is not None:
        try:
            values = yaml.safe_load(file.read_text(encoding="utf-8")) or {}
        except (OSError, yaml.YAMLError) as exc:
            raise InvalidInput(f"Không đọc được tệp {file}", details=[str(exc)]) from exc
        if not isinstance(values, dict):
            raise InvalidInput(f"{file}: phải là một bảng khóa → giá trị")
    options = {"start": at, "end": end, "place": place, "chaired_by": chair, "secretary": secretary,
               "attendees_present": present, "attendees_total": total, "absent": list(absent) or None,
               "vote_for": vote_for, "vote_against": vote_against or None, "vote_abstain": vote_abstain or None,
               "conclusions": conclusions or None}
    values |= {k: v for k, v in options.items() if v is not None}
    m = meeting_input(values)
    with wiring.uow() as u:
        a = assessment_svc.find_assessment(u, ref, campaign)
        row = record_meeting(u.session, a.id, m, ActorRef(by, a.school_id))
        u.commit()
        console.print(f"Hồ sơ số {a.id}: đã ghi cuộc họp lúc {local(row.started_at)} tại {row.place} "
                      f"({row.attendees_present}/{row.attendees_total} có mặt, "
                      f"{row.vote_for} tán thành).", highlight=False)


def register(app: typer.Typer) -> None:
    committee_app.command("meeting")(meeting_cmd)
