"""`cdsflow indexset …` and `cdsflow score …`: index sets, answer forms, scored tables.

Only translation: reading options, calling the services, printing.
"""
from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import typer
from rich.table import Table

from cdsflow.app import wiring
from cdsflow.app.cli_reader import READER_HELP, reader_in
from cdsflow.app.console import console, fail
from cdsflow.assessment.answer_forms import read_answers, write_answer_form
from cdsflow.assessment.files import load_index_set_file
from cdsflow.assessment.model import IndexSet
from cdsflow.assessment.scoring import UNCONFIRMED, ScoreResult, score
from cdsflow.assessment.versions import changes_since, diff_index_sets
from cdsflow.assessment.xlsx import write_index_set_workbook
from cdsflow.kernel.errors import CdsError, InvalidInput
from cdsflow.services import authorization, rescoring
from cdsflow.services.indexsets import (
    import_index_set,
    index_set_by_hash,
    index_set_for_assessment,
    list_index_sets,
    resolve_index_set,
)
from cdsflow.services.scoring import (
    add_evidence,
    compare_assessment,
    list_evidence,
    member_progress,
    proposal_gaps,
    roll_over,
    save_answers,
    set_assignment,
)
from cdsflow.services.units import unit_id_by_code
from cdsflow.workflow.context import ActorRef


def _guard(fn: Callable) -> Callable:
    """Print a CdsError in Vietnamese and exit with its code (also under CliRunner)."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except CdsError as err:
            fail(err)
            raise typer.Exit(err.exit_code) from None

    return wrapper


@contextmanager
def _session() -> Iterator[Any]:
    """The session of one committed unit of work (the index-set and scoring services take a session)."""
    with wiring.transaction() as u:
        yield u.session


def _n(d: Decimal | None) -> str:
    if d is None:
        return "—"
    return format(d.normalize(), "f").replace(".", ",")


def _resolve(code_or_file: str, version: str | None = None) -> IndexSet:
    """An index-set code (from the database or the shipped files) or a path to a YAML/XLSX file."""
    path = Path(code_or_file)
    if path.suffix.lower() in (".yaml", ".yml", ".xlsx", ".xlsm"):
        return load_index_set_file(path)  # names the missing file itself

    with _session() as session:
        return resolve_index_set(session, code_or_file, version)


def print_index_set(s: IndexSet) -> None:
    state = "[yellow]TẠM THỜI (khung, chưa chấm điểm được)[/]" if s.provisional else "chính thức"
    console.print(f"[bold]Bộ chỉ số {s.code}[/] — {s.title}", highlight=False)
    console.print(f"Quyết định {s.decision_number or '—'} ngày {s.decision_date or '—'}; phiên bản {s.version}; {state}",
                  highlight=False)
    console.print(f"Mã băm nội dung: {s.content_hash}", highlight=False)
    for change in s.changelog:
        console.print(f"Thay đổi {change.date} (thay cho nội dung {change.replaces}): {change.summary}", highlight=False)
        for item in change.items:
            console.print(f"  - mục {item.code}: trước đây {item.before}; nay {item.after}", highlight=False)
    bands = "; ".join(f"Mức {b.level} ({b.name}): {b.range.text if b.range else 'chưa rõ'}" for b in s.levels)
    scope = "từng nhóm" if s.level_scope.value == "per_group" else "tổng điểm"
    console.print(f"Xếp mức theo {scope}: {bands}", highlight=False)
    if s.note:
        console.print(f"[dim]{s.note}[/]", highlight=False)
    table = Table(show_lines=False)
    for col in ("Mã", "Nội dung", "Trả lời", "Tối đa", "Bậc điểm / minh chứng"):
        table.add_column(col, overflow="fold")
    for g in s.groups:
        table.add_row(f"[bold]{g.code}[/]", f"[bold]{g.name}[/]" + (" (?)" if g.uncertain else ""), "",
                      _n(g.max_points), g.note)
        for c in g.criteria:
            first = c.items[0]
            kind = "" if c.has_sub_items else first.kind.value
            label = c.label + (" [bắt buộc]" if c.mandatory else "") + (" (?)" if c.uncertain else "")
            extra = "; ".join(c.evidence) if c.evidence else ""
            parts = ["; ".join(_tier_texts(first))] if not c.has_sub_items else []
            parts.append("MC: " + extra if extra else "")
            extra = " | ".join(p for p in parts if p)
            table.add_row(c.code, label, kind, _n(c.max_points), extra)
            if c.has_sub_items:
                for i in c.items:
                    table.add_row(f"  {i.code}", "  " + i.label + (" (?)" if i.uncertain else ""), i.kind.value,
                                  _n(i.max_points), "; ".join(_tier_texts(i)))
    console.print(table)
    console.print("(?) = chưa đối chiếu được với văn bản gốc, xem ghi chú.", style="dim")


def _tier_texts(item: Any) -> list[str]:
    if item.tiers:
        return [f"{t.range.text}→{_n(t.points)}" for t in item.tiers]
    return [f"{c.code}→{_n(c.points)}" for c in item.choices]


def print_result(s: IndexSet, r: ScoreResult) -> None:
    table = Table(title=f"Kết quả chấm theo Bộ chỉ số {s.code} (phiên bản {s.identity})")
    for col, just in (("Mã", "left"), ("Nội dung", "left"), ("Trả lời", "left"), ("Điểm", "right"), ("Tối đa", "right")):
        table.add_column(col, justify=just, overflow="fold")
    for g in s.groups:
        for c in g.criteria:
            if c.has_sub_items:
                table.add_row(f"[bold]{c.code}[/]", f"[bold]{c.label}[/]", "", f"[bold]{_n(r.criteria[c.code])}[/]",
                              _n(c.max_points))
            for i in c.items:
                sc = r.items[i.code]
                answer = sc.tier if sc.answered else "[red]chưa chấm[/]"
                if sc.answered and sc.points < sc.ceiling and not sc.unconfirmed:
                    answer += f" (cho {_n(sc.points)}/{_n(sc.ceiling)})"
                if sc.answered and sc.unconfirmed:
                    answer += f" (cho {_n(sc.points)}/{_n(sc.ceiling)}) [yellow]({UNCONFIRMED}; bậc gợi ý {_n(sc.advised)})[/]"
                label = i.label + (" [bắt buộc]" if i.mandatory else "") + (" (?)" if i.uncertain else "")
                indent = "  " if c.has_sub_items else ""
                table.add_row(indent + i.code, indent + label, answer, _n(sc.points) if sc.answered else "—",
                              _n(i.max_points))
        gs = next(x for x in r.groups if x.code == g.code)
        level = f"Mức {gs.level}: {gs.level_name}" if gs.level else gs.level_name
        table.add_row("", f"[bold]Nhóm {g.code}: {g.name}[/]", level, f"[bold]{_n(gs.total)}[/]", _n(gs.max_points),
                      end_section=True)
    console.print(table)
    for gs in r.groups:
        if gs.level:
            console.print(f"Nhóm {gs.code}: {_n(gs.total)}/{_n(gs.max_points)} điểm — Mức {gs.level} ({gs.level_name})",
                          highlight=False)
        elif gs.level_name:
            console.print(f"Nhóm {gs.code}: {_n(gs.total)}/{_n(gs.max_points)} điểm — {gs.level_name}", highlight=False)
    if r.total_level:
        console.print(f"Tổng điểm {_n(r.total)} — Mức {r.total_level}", highlight=False)
    elif r.overall_level:
        console.print(f"Mức chung của đơn vị: Mức {r.overall_level}", highlight=False)
    for code, met in r.mandatory.items():
        state = {True: "[green]đạt[/]", False: "[red]chưa đạt[/]", None: "[yellow]chưa trả lời[/]"}[met]
        console.print(f"Điều kiện bắt buộc {code}: {state}", highlight=False)
    if r.unscored:
        console.print(f"[yellow]Còn {len(r.unscored)} mục chưa chấm:[/] {', '.join(r.unscored)}", highlight=False)


indexset_app = typer.Typer(help="Bộ chỉ số đánh giá (4725, 3276, 3806): mẫu Excel, nhập, kiểm tra, xem.", no_args_is_help=True)
score_app = typer.Typer(help="Chấm điểm: phiếu trả lời, bảng điểm, lưu câu trả lời của hồ sơ.", no_args_is_help=True)
evidence_app = typer.Typer(help="Minh chứng theo tiêu chí của một hồ sơ đánh giá.", no_args_is_help=True)


@indexset_app.command("template")
@_guard
def template_cmd(
    out: Path = typer.Argument(..., help="Tệp .xlsx sẽ tạo"),
    from_: str | None = typer.Option(None, "--from", help="Điền sẵn từ bộ chỉ số có mã này (ví dụ 3806)"),
) -> None:
    """Tạo tệp Excel mẫu để cán bộ điền bảng tiêu chí chính thức."""
    if out.suffix.lower() != ".xlsx":
        raise InvalidInput(f"Tệp mẫu phải có đuôi .xlsx: {out.name}")
    s = _resolve(from_) if from_ else None
    write_index_set_workbook(out, s)
    console.print(f"Đã tạo tệp mẫu {out}" + (f" (điền sẵn từ bộ chỉ số {s.label})" if s else ""), highlight=False)


@indexset_app.command("check")
@_guard
def check_cmd(file: Path = typer.Argument(..., help="Tệp .yaml hoặc .xlsx")) -> None:
    """Kiểm tra một tệp bộ chỉ số (không lưu gì)."""
    s = load_index_set_file(file)
    kind = "tạm thời" if s.provisional else "chính thức"
    console.print(f"Tệp {file.name} hợp lệ: bộ chỉ số {s.code}, phiên bản {s.version} ({kind}), "
                  f"{len(s.groups)} nhóm, {len(s.criteria)} tiêu chí, {len(s.items)} mục chấm điểm; "
                  f"mã băm {s.content_hash[:12]}", highlight=False)


@indexset_app.command("import")
@_guard
def import_cmd(
    file: Path = typer.Argument(..., help="Tệp .yaml hoặc .xlsx"),
    by: str = typer.Option("", "--by", help="Người nhập"),
) -> None:
    """Kiểm tra và nhập một tệp bộ chỉ số thành phiên bản mới."""
    with _session() as session:
        s = import_index_set(session, file, actor=by)
    kind = " (tạm thời)" if s.provisional else ""
    console.print(f"Đã nhập bộ chỉ số {s.code} phiên bản {s.version}{kind}; mã băm {s.content_hash[:12]}",
                  highlight=False)


@indexset_app.command("list")
@_guard
def list_cmd() -> None:
    """Liệt kê các bộ chỉ số và phiên bản."""
    with _session() as session:
        rows = list_index_sets(session)
    table = Table(title="Bộ chỉ số")
    for col in ("Mã", "Phiên bản", "Tên", "Trạng thái", "Nguồn", "Mã băm"):
        table.add_column(col, overflow="fold")
    for r in rows:
        table.add_row(r.code, r.version, r.title, "tạm thời" if r.provisional else "chính thức",
                      r.origin + (f" {r.imported_at:%d/%m/%Y}" if r.imported_at else ""), r.content_hash[:12])
    console.print(table)


@indexset_app.command("show")
@_guard
def show_cmd(
    code: str = typer.Argument(..., help="Mã bộ chỉ số (ví dụ 4725) hoặc tệp .yaml/.xlsx"),
    version: str | None = typer.Option(None, "--version", help="Phiên bản (mặc định: mới nhất)"),
) -> None:
    """Xem một bộ chỉ số: nhóm, tiêu chí, điểm tối đa, bậc điểm, minh chứng."""
    print_index_set(_resolve(code, version))


@score_app.command("form")
@_guard
def form_cmd(
    indexset: str = typer.Argument(..., help="Mã bộ chỉ số hoặc tệp bộ chỉ số"),
    out: Path = typer.Argument(..., help="Phiếu trả lời sẽ tạo (.yaml hoặc .xlsx)"),
) -> None:
    """Tạo phiếu trả lời trống cho một bộ chỉ số."""
    s = _resolve(indexset)
    if not s.scorable:
        raise InvalidInput(f"Bộ chỉ số {s.label} là khung tạm thời, chưa có mục nào để trả lời")
    write_answer_form(out, s)
    console.print(f"Đã tạo phiếu trả lời {out} ({len(s.items)} mục)", highlight=False)


@score_app.command("show")
@_guard
def score_show_cmd(
    indexset: str = typer.Argument(..., help="Mã bộ chỉ số hoặc tệp bộ chỉ số"),
    answers_file: Path = typer.Argument(..., help="Phiếu trả lời đã điền (.yaml hoặc .xlsx)"),
) -> None:
    """Chấm điểm một phiếu trả lời và in bảng điểm, tổng điểm, mức độ (không lưu gì)."""
    s = _resolve(indexset)
    named, answers = read_answers(answers_file, s)
    if named and named != s.code:
        raise InvalidInput(f"Phiếu trả lời {answers_file.name} là của bộ chỉ số {named}, không phải {s.code}")
    print_result(s, score(s, answers))


@score_app.command("enter")
@_guard
def enter_cmd(
    answers_file: Path = typer.Argument(..., help="Phiếu trả lời đã điền (.yaml hoặc .xlsx)"),
    assessment: int = typer.Option(..., "--assessment", help="Số hồ sơ đánh giá"),
    phase: str = typer.Option("self", "--phase", help="self = tự đánh giá; external = đánh giá ngoài"),
    by: str = typer.Option(..., "--by", help="Người nhập"),
    unit: str | None = typer.Option(None, "--unit", help="Mã đơn vị của người nhập (mặc định: trường "
                                       "với tự đánh giá, đơn vị ban hành kế hoạch với đánh giá ngoài)"),
    revision: int | None = typer.Option(None, "--revision", help="Lần lưu của phiếu khi bạn lấy ra "
                                           "(chống ghi đè điểm người khác vừa lưu)"),
) -> None:
    """Lưu câu trả lời của một hồ sơ đánh giá từ phiếu trả lời, rồi in bảng điểm."""
    with _session() as session:
        s = index_set_for_assessment(session, assessment)
        named, answers = read_answers(answers_file, s)
        if named and named != s.code:
            raise InvalidInput(f"Phiếu trả lời {answers_file.name} là của bộ chỉ số {named}, "
                               f"hồ sơ số {assessment} chấm theo bộ chỉ số {s.code}")
        result = save_answers(session, assessment, phase, answers, _actor_for(session, by, unit),
                              base_revision=revision)
    console.print(f"Đã lưu {len(answers)} câu trả lời cho hồ sơ số {assessment}", highlight=False)
    print_result(s, result)


@score_app.command("gaps")
@_guard
def gaps_cmd(assessment: int = typer.Option(..., "--assessment", help="Số hồ sơ đánh giá"),
             unit: str | None = typer.Option(None, "--unit", help=READER_HELP)) -> None:
    """Những gì còn thiếu trước khi gửi tờ trình (mục chưa chấm, minh chứng còn thiếu)."""
    with _session() as session:
        authorization.readable_assessment(session, reader_in(session, unit), assessment)
        gaps = proposal_gaps(session, assessment)
    if not gaps:
        console.print(f"Hồ sơ số {assessment} đã đủ điểm và minh chứng để gửi tờ trình.", highlight=False)
        return
    console.print(f"Hồ sơ số {assessment} còn thiếu {len(gaps)} điều:", highlight=False)
    for g in gaps:
        console.print(f"  - {g}", highlight=False)
    raise typer.Exit(1)


@score_app.command("compare")
@_guard
def compare_cmd(assessment: int = typer.Option(..., "--assessment", help="Số hồ sơ đánh giá"),
                unit: str | None = typer.Option(None, "--unit", help=READER_HELP)) -> None:
    """Điểm tự đánh giá và đánh giá ngoài, cạnh nhau, chênh lệch từng mục."""
    with _session() as session:
        authorization.readable_assessment(session, reader_in(session, unit), assessment)
        s, cmp = compare_assessment(session, assessment)
    table = Table(title=f"Tự đánh giá và đánh giá ngoài — hồ sơ số {assessment}")
    for col, just in (("Mã", "left"), ("Nội dung", "left"), ("Tự đánh giá", "right"), ("Đánh giá ngoài", "right"),
                      ("Chênh lệch", "right")):
        table.add_column(col, justify=just, overflow="fold")
    for d in cmp.items:
        diff = d.difference
        shown = "—" if diff is None else (("+" if diff > 0 else "") + _n(diff))
        style = "red" if diff is not None and diff < 0 else ""
        table.add_row(d.code, d.label, _n(d.self_points), _n(d.external_points), f"[{style}]{shown}[/]" if style else shown)
    for d in cmp.groups:
        diff = d.difference
        table.add_row("", f"[bold]Nhóm {d.code}[/]", _n(d.self_points), _n(d.external_points),
                      "—" if diff is None else _n(diff), end_section=False)
    console.print(table)
@evidence_app.command("add")
@_guard
def evidence_add_cmd(
    assessment: int = typer.Option(..., "--assessment", help="Số hồ sơ đánh giá"),
    criterion: str = typer.Option(..., "--criterion", help="Mã tiêu chí hoặc mục (ví dụ 1.4)"),
    title: str = typer.Option(..., "--title", help="Tên minh chứng"),
    link: str = typer.Option("", "--link", help="Đường link"),
    file: str = typer.Option("", "--file", help="Đường dẫn tệp đã lưu"),
    number: str = typer.Option("", "--number", help="Số, ký hiệu văn bản"),
    doc_date: str | None = typer.Option(None, "--date", help="Ngày văn bản (YYYY-MM-DD)"),
    valid_until: str | None = typer.Option(None, "--valid-until", help="Còn hiệu lực đến (YYYY-MM-DD)"),
    member: int | None = typer.Option(None, "--member", help="Số thành viên hội đồng phụ trách"),
    by: str = typer.Option("", "--by", help="Người nhập"),
    unit: str | None = typer.Option(None, "--unit", help="Mã đơn vị của người nhập (mặc định: trường)"),
) -> None:
    """Thêm một minh chứng cho một tiêu chí."""
    with _session() as session:
        e = add_evidence(session, assessment, criterion, title, link=link, file_path=file, document_number=number,
                         document_date=_date(doc_date, "--date"), valid_until=_date(valid_until, "--valid-until"),
                         responsible_member_id=member, actor=_actor_for(session, by, unit))
    console.print(f"Đã thêm minh chứng số {e.id} cho tiêu chí {e.criterion_code}", highlight=False)


@evidence_app.command("list")
@_guard
def evidence_list_cmd(assessment: int = typer.Option(..., "--assessment", help="Số hồ sơ đánh giá"),
                      unit: str | None = typer.Option(None, "--unit", help=READER_HELP)) -> None:
    """Liệt kê minh chứng của một hồ sơ đánh giá."""
    with _session() as session:
        authorization.readable_assessment(session, reader_in(session, unit), assessment)
        rows = list_evidence(session, assessment)
    table = Table(title=f"Minh chứng — hồ sơ số {assessment}")
    for col in ("Số", "Tiêu chí", "Tên", "Văn bản", "Link / tệp", "Hiệu lực đến"):
        table.add_column(col, overflow="fold")
    for e in rows:
        doc = " ".join(x for x in (e.document_number, f"{e.document_date:%d/%m/%Y}" if e.document_date else "") if x)
        table.add_row(str(e.id), e.criterion_code, e.title, doc, e.link or e.file_path,
                      f"{e.valid_until:%d/%m/%Y}" if e.valid_until else "")
    console.print(table)


@evidence_app.command("assign")
@_guard
def assign_cmd(
    assessment: int = typer.Option(..., "--assessment", help="Số hồ sơ đánh giá"),
    criterion: str = typer.Option(..., "--criterion", help="Mã tiêu chí (ví dụ 1.3)"),
    member: int = typer.Option(..., "--member", help="Số thành viên hội đồng"),
    role: str = typer.Option("thuc_hien", "--role", help="chu_tri (chủ trì) hoặc thuc_hien (thực hiện)"),
    status: str | None = typer.Option(None, "--status", help="chua_bat_dau | dang_thuc_hien | hoan_thanh"),
    by: str = typer.Option("", "--by", help="Người nhập"),
) -> None:
    """Phân công một tiêu chí cho thành viên hội đồng (hoặc cập nhật tiến độ)."""
    with _session() as session:
        row = set_assignment(session, assessment, criterion, member, role, status=status, actor=by)
    console.print(f"Đã phân công tiêu chí {row.criterion_code} cho thành viên số {row.member_id} ({row.role}, {row.status})",
                  highlight=False)


@evidence_app.command("rollover")
@_guard
def rollover_cmd(
    from_id: int = typer.Option(..., "--from", help="Số hồ sơ năm trước"),
    to_id: int = typer.Option(..., "--to", help="Số hồ sơ năm nay (cùng trường)"),
    by: str = typer.Option("", "--by", help="Người thực hiện"),
) -> None:
    """Chép hội đồng, phân công và minh chứng còn hiệu lực từ hồ sơ năm trước."""
    with _session() as session:
        rep = roll_over(session, from_id, to_id, actor=by)
    console.print(f"Đã chép {rep.members} thành viên, {rep.assignments} phân công, {rep.evidence} minh chứng "
                  f"sang hồ sơ số {to_id}", highlight=False)
    for reason in rep.skipped:
        console.print(f"  bỏ qua: {reason}", highlight=False)


@evidence_app.command("progress")
@_guard
def progress_cmd(assessment: int = typer.Option(..., "--assessment", help="Số hồ sơ đánh giá"),
                 unit: str | None = typer.Option(None, "--unit", help=READER_HELP)) -> None:
    """Tiến độ theo từng thành viên hội đồng."""
    with _session() as session:
        authorization.readable_assessment(session, reader_in(session, unit), assessment)
        rows = member_progress(session, assessment)
    table = Table(title=f"Tiến độ theo thành viên — hồ sơ số {assessment}")
    for col in ("Thành viên", "Tiêu chí được giao", "Chủ trì", "Đã chấm", "Có minh chứng", "Báo hoàn thành",
                "Xong", "%"):
        table.add_column(col)
    for p in rows:
        table.add_row(p.full_name, ", ".join(p.criteria), ", ".join(p.lead), str(p.scored), str(p.with_evidence),
                      str(p.done), str(p.complete), f"{p.percent}%")
    console.print(table)


def register(app: typer.Typer) -> None:
    app.add_typer(indexset_app, name="indexset")
    app.add_typer(score_app, name="score")
    app.add_typer(evidence_app, name="evidence")


def _date(text: str | None, option: str) -> date | None:
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InvalidInput(f"{option}: ngày '{text}' không đúng dạng YYYY-MM-DD") from None


def _actor_for(session: Any, by: str, unit: str | None) -> Any:
    """`--by` alone: a person acting for the unit the rulebook gives the action to; `--unit CODE`: for
    that unit, refused by the same rules as on the web if it may not."""
    if not unit:
        return by
    return ActorRef(by, unit_id_by_code(session, unit.strip()))


# ---------------------------------------------------------------- versions: diff and rescore


def _resolve_any(ref: str) -> IndexSet:
    """A code, a file, or a content hash (the version a campaign was launched with)."""
    if re.fullmatch(r"[0-9a-f]{64}", ref.strip().lower()):
        with _session() as session:
            return index_set_by_hash(session, ref.strip().lower())
    return _resolve(ref)


def print_diff(old: IndexSet, new: IndexSet) -> int:
    console.print(f"Bộ chỉ số {old.code}: phiên bản {old.identity} → {new.identity}", highlight=False)
    diffs = diff_index_sets(old, new)
    if not diffs:
        console.print("Không mục nào đổi loại trả lời, bậc điểm hay điểm tối đa.", highlight=False)
    table = Table(title="Các mục đổi nghĩa")
    for col in ("Mã", "Thay đổi", "Trước đây", "Nay"):
        table.add_column(col, overflow="fold")
    for d in diffs:
        table.add_row(d.code, d.what, d.before or "—", d.after or "—")
    if diffs:
        console.print(table)
    for code, change in changes_since(new, old.content_hash).items():
        console.print(f"Cách ghi mục {code} theo phiên bản mới: {change.write}", highlight=False)
    return len(diffs)


def _levels(groups: tuple[tuple[Any, int | None], ...]) -> str:
    return "; ".join(f"{_n(p)} điểm, " + (f"mức {lv}" if lv else "chưa đạt mức") for p, lv in groups) or "—"


@indexset_app.command("diff")
@_guard
def diff_cmd(
    old: str = typer.Argument(..., help="Phiên bản cũ: mã, tệp .yaml/.xlsx, hoặc mã băm nội dung"),
    new: str = typer.Argument(..., help="Phiên bản mới: mã, tệp .yaml/.xlsx, hoặc mã băm nội dung"),
) -> None:
    """Các mục đổi loại trả lời, bậc điểm hoặc điểm tối đa giữa hai phiên bản."""
    a, b = _resolve_any(old), _resolve_any(new)
    if a.code != b.code:
        raise InvalidInput(f"Hai bộ chỉ số khác nhau ({a.code} và {b.code}): chỉ so được hai phiên bản của một bộ")
    print_diff(a, b)


@score_app.command("rescore")
@_guard
def rescore_cmd(
    campaign: int = typer.Option(..., "--campaign", help="Số đợt đánh giá"),
    to: str = typer.Option(..., "--to", help="Phiên bản mới: mã (bản mới nhất), tệp .yaml/.xlsx, hoặc mã băm"),
    dry_run: bool = typer.Option(False, "--dry-run", help="Chỉ liệt kê trường đổi điểm hoặc mức, không lưu gì"),
    by: str = typer.Option("", "--by", help="Cán bộ thực hiện (bắt buộc khi lưu)"),
    reason: str = typer.Option("", "--reason", help="Lý do chấm lại (ghi vào lịch sử hồ sơ)"),
) -> None:
    """Chấm lại các kết quả đã lưu của một đợt theo phiên bản bộ chỉ số khác (xem trước bằng --dry-run)."""
    target = _resolve_any(to)
    with _session() as session:
        lines = (rescoring.rescore_plan(session, campaign, target) if dry_run
                 else rescoring.apply_rescore(session, campaign, target, actor=by, reason=reason))
    table = Table(title=f"Đợt {campaign}: kết quả đổi theo phiên bản {target.identity}"
                  + (" (xem trước, chưa lưu)" if dry_run else " (đã lưu)"))
    for col in ("Hồ sơ", "Trường", "Giai đoạn", "Đang lưu", "Theo phiên bản mới"):
        table.add_column(col, overflow="fold")
    for line in lines:
        after = f"[red]{line.problem}[/]" if line.problem else _levels(line.after)
        if line.note:
            after += f"\n[yellow]{line.note}[/]"
        table.add_row(str(line.assessment_id), line.school, line.phase, _levels(line.before), after)
    if not lines:
        console.print("Không trường nào đổi điểm hay mức.", highlight=False)
    else:
        console.print(table)
