"""`cdsflow docs …`: official documents. Translates options to the documents service, nothing more."""
from __future__ import annotations

from datetime import date
from pathlib import Path

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from cdsflow.app import wiring
from cdsflow.app.console import console
from cdsflow.app.web.exports import Column, workbook
from cdsflow.documents import paper_sections
from cdsflow.documents import settings as doc_settings
from cdsflow.documents.checks import check_docx
from cdsflow.documents.contexts import BUILDERS
from cdsflow.documents.pdf import to_pdf_parallel
from cdsflow.documents.register import COLUMNS, register_xlsx
from cdsflow.documents.render import render
from cdsflow.documents.samples import sample_context
from cdsflow.kernel import safeyaml
from cdsflow.kernel.errors import InvalidInput
from cdsflow.kernel.text import TextError, clean_tree
from cdsflow.services import dossier, signing, steering
from cdsflow.services import papers as service
from cdsflow.services import plan_papers as plan_service
from cdsflow.services import signed_copies as signed
from cdsflow.services.certificates import print_certificates
from cdsflow.storage.tabular import read_table

docs_app = typer.Typer(help="Văn bản hành chính: tạo, đánh số, đóng hồ sơ.", no_args_is_help=True)


def _date(value: str | None) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise InvalidInput(f"Ngày không hợp lệ: «{value}» (dạng YYYY-MM-DD)") from exc


def _data(path: Path | None) -> dict:
    if path is None:
        return {}
    try:
        data = safeyaml.load_file(path) or {}
    except safeyaml.YamlInputError as err:
        raise InvalidInput(f"Không đọc được tệp dữ liệu văn bản {path}", details=[str(err)]) from None
    if not isinstance(data, dict):
        raise InvalidInput(f"{path}: tệp dữ liệu văn bản phải là một bảng khóa → giá trị")
    try:
        return clean_tree(data, field=path.name)  # the one text gate, as for everything typed
    except TextError as err:
        raise InvalidInput(f"Tệp dữ liệu văn bản {path}: {err}") from None


@docs_app.command("generate")
def generate_cmd(
    doc_type: str = typer.Argument(..., metavar="TYPE", help="Mã loại văn bản, ví dụ qd_hoi_dong"),
    school: str | None = typer.Option(None, "--school", help="Mã trường"),
    campaign: int | None = typer.Option(None, "--campaign", help="Số đợt đánh giá (không có --school: mọi trường)"),
    out: Path = typer.Option(Path("van-ban"), "--out", help="Thư mục ghi tệp"),
    draft: bool = typer.Option(False, "--draft", help="Dự thảo: chưa lấy số, để trống ngày"),
    issued_on: str | None = typer.Option(None, "--date", help="Ngày ban hành (YYYY-MM-DD), mặc định hôm nay"),
    data: Path | None = typer.Option(None, "--data", help="Tệp YAML bổ sung (thành viên đoàn, điểm, nơi nhận…)"),
    workers: int = typer.Option(2, "--workers", min=1, help="Số tiến trình khi tạo cho cả đợt"),
    pdf: bool = typer.Option(False, "--pdf", help="Chuyển thêm sang PDF (cần LibreOffice)"),
    replace: bool = typer.Option(False, "--replace", help="Đã có văn bản này: ban hành văn bản thay thế (cần --reason)"),
    new: bool = typer.Option(False, "--new", help="Đã có văn bản này: ban hành thêm một văn bản mới, số mới"),
    reason: str = typer.Option("", "--reason", help="Lý do thay thế"),
    by: str = typer.Option("cli", "--by", help="Người lập"),
    text: Path | None = typer.Option(None, "--text", help="Tệp YAML nội dung từng mục (mục → đoạn văn), thay nội dung mặc định"),
) -> None:
    """Tạo văn bản cho một trường, cho mọi trường của một đợt, hoặc văn bản chung của đợt."""
    if not school and campaign is None:
        raise InvalidInput("Cần --school MÃ hoặc --campaign SỐ")
    if replace and new:
        raise InvalidInput("Chọn một trong --replace hoặc --new")
    on_existing = "replace" if replace else "new" if new else None
    engine, extra = wiring.engine(), _data(data)
    if text is not None:
        extra["sections"] = _data(text)  # checked section by section against the paper (documents/sections.py)
    skipped: list[tuple[str, str]] = []
    if school:
        record, content = service.generate(engine, doc_type, school_code=school, campaign_id=campaign, draft=draft,
                                           issued_on=_date(issued_on), data=extra, actor=by,
                                           on_existing=on_existing, reason=reason)
        out.mkdir(parents=True, exist_ok=True)
        paths = [out / service.file_name(record, school)]
        paths[0].write_bytes(content)
        console.print(f"{service.paper_label(record)} (mã lưu {record.id})", highlight=False)
        if record.note:
            console.print(f"[yellow]Cảnh báo:[/] {record.note}", highlight=False)
    else:
        with Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                      console=console, transient=False) as bar:
            task = bar.add_task(f"Tạo {doc_type}", total=None)
            result = service.generate_for_campaign(
                engine, doc_type, campaign, out, draft=draft, issued_on=_date(issued_on), data=extra, actor=by,
                workers=workers, progress=lambda done, total: bar.update(task, completed=done, total=total),
                on_existing=on_existing, reason=reason)
        paths, skipped = result.paths, result.skipped
    if pdf:
        to_pdf_parallel(paths, out, workers=workers)
    console.print(f"Đã tạo {len(paths)} văn bản trong {out}", highlight=False)
    _print_skipped(skipped, out)


@docs_app.command("text")
def text_cmd(
    doc_type: str = typer.Argument(..., metavar="TYPE", help="ke_hoach, cong_van_trien_khai, qd_cong_nhan, thong_bao, …"),
    campaign: int = typer.Option(..., "--campaign", help="Số đợt đánh giá"),
    out: Path = typer.Option(..., "--out", help="Tệp YAML ghi nội dung mặc định, để sửa rồi dùng với --text"),
    school: str | None = typer.Option(None, "--school", help="Mã trường (bộ phận chỉ đạo CĐS của trường)"),
    data: Path | None = typer.Option(None, "--data", help="Tệp YAML bổ sung, như khi tạo văn bản (mốc đôn đốc…)"),
) -> None:
    """Ghi nội dung mặc định từng mục của văn bản ra tệp YAML để sửa trước khi ban hành."""
    if doc_type in paper_sections.PAPERS:  # the paper as it would print now, from stored data
        texts = service.section_defaults(wiring.engine(), doc_type, campaign, school, data=_data(data))
    else:
        texts = plan_service.default_texts(wiring.engine(), doc_type, campaign)
    out.write_text(_dump(texts), encoding="utf-8")
    console.print(f"Đã ghi {out} ({len(texts)} mục)", highlight=False)


def _dump(texts: dict[str, str]) -> str:
    import yaml

    class Dumper(yaml.SafeDumper):  # each section as a block: one paragraph a line, as typed
        pass

    Dumper.add_representer(str, lambda d, v: d.represent_scalar("tag:yaml.org,2002:str", v, style="|" if "\n" in v else None))
    return yaml.dump(texts, Dumper=Dumper, allow_unicode=True, sort_keys=False, width=10_000)


@docs_app.command("dossier")
def dossier_cmd(
    school: str = typer.Option(..., "--school", help="Mã trường"),
    campaign: int = typer.Option(..., "--campaign", help="Số đợt đánh giá"),
    out: Path | None = typer.Option(None, "--out", help="Tệp .zip (mặc định ho-so-MÃ.zip)"),
    order: str | None = typer.Option(None, "--order", help="Thứ tự đóng hồ sơ, ví dụ bia_ho_so,to_trinh,bien_ban"),
    pdf: bool = typer.Option(False, "--pdf", help="Kèm PDF từng văn bản và PDF gộp"),
) -> None:
    """Đóng hồ sơ của một trường thành một tệp .zip theo thứ tự kế hoạch yêu cầu."""
    result = dossier.build_dossier(wiring.engine(), school, campaign, out or Path(f"ho-so-{school}.zip"),
                                   order=order.split(",") if order else None, pdf=pdf)
    for name, how in result.files:
        console.print(f"  {name}  ({how})", highlight=False)
    for name in result.missing:
        console.print(f"  [yellow]Chưa có:[/] {name}", highlight=False)
    console.print(f"Đã ghi hồ sơ: {result.path}", highlight=False)


@docs_app.command("signed-copy")
def signed_copy_cmd(
    document_id: int = typer.Argument(..., help="Mã lưu trong sổ của văn bản đã ký"),
    file: Path = typer.Argument(..., help="Tệp PDF bản đã ký (quét hoặc ký số)"),
    by: str = typer.Option("cli", "--by", help="Người tải lên"),
    unit: str | None = typer.Option(None, "--unit", help="Mã đơn vị của người tải lên (mặc định: đơn vị ban hành)"),
) -> None:
    """Gắn bản đã ký (PDF) vào một văn bản đã cấp số; hồ sơ dùng bản này thay cho bản tạo ra."""
    engine = wiring.engine()
    copy = signed.upload_as(engine, document_id, file, by, unit)
    copy_number = signed.number_line(engine, document_id)
    console.print(f"Đã gắn bản đã ký cho {copy_number or document_id} ({copy.size // 1024} KB)", highlight=False)


@docs_app.command("register")
def register_cmd(unit: str | None = typer.Option(None, "--unit", help="Mã đơn vị ban hành"),
                 xlsx: Path | None = typer.Option(None, "--xlsx", help="Xuất sổ ra tệp Excel")) -> None:
    """Sổ đăng ký văn bản đi: số, ký hiệu, ngày, trích yếu, người ký, nơi nhận, đơn vị (không gồm dự thảo)."""
    lines = service.register_listing(wiring.engine(), unit)
    if xlsx is not None:
        xlsx.write_bytes(register_xlsx(lines))
        console.print(f"Đã xuất {len(lines)} dòng ra {xlsx}", highlight=False)
        return
    table = Table(*COLUMNS, "Mã lưu")
    for line in lines:
        table.add_row(*line.cells(), str(line.id))
    console.print(table)
    console.print(f"{len(lines)} văn bản đã cấp số", highlight=False)
    signatures = signing.paper_signatures(wiring.engine(), [line.id for line in lines])
    for line in lines:
        if line.id in signatures:
            console.print(f"Mã lưu {line.id}: {signatures[line.id]}", highlight=False)


@docs_app.command("void")
def void_cmd(document_id: int = typer.Argument(..., help="Mã lưu trong sổ"),
             reason: str = typer.Option(..., "--reason", help="Lý do hủy"),
             by: str = typer.Option("cli", "--by")) -> None:
    """Hủy một văn bản đã cấp số (số không dùng lại; văn bản vẫn ở trong sổ, ghi đã hủy)."""
    done = service.void_paper(wiring.engine(), document_id, reason, by)
    console.print(f"Đã hủy {service.paper_label(done.doc)} (mã lưu {done.doc.id}): {done.doc.reason}", highlight=False)
    if done.needing_action:
        console.print(f"[yellow]Cần xử lý {len(done.needing_action)} văn bản căn cứ vào văn bản vừa hủy[/] "
                      "(hủy hoặc cấp lại):", highlight=False)
        for name, _why in done.needing_action:
            console.print(f"  {name}", highlight=False)


@docs_app.command("reproduce")
def reproduce_cmd(document_id: int = typer.Argument(..., help="Mã lưu trong sổ"),
                  out: Path = typer.Argument(..., help="Tệp .docx ghi ra")) -> None:
    """Tạo lại đúng từng byte một văn bản đã cấp số, từ nội dung đã lưu."""
    out.write_bytes(service.reproduce(wiring.engine(), document_id))
    console.print(f"Đã ghi {out}", highlight=False)


@docs_app.command("sample")
def sample_cmd(
    doc_type: str = typer.Argument(..., metavar="TYPE"),
    out: Path = typer.Argument(..., help="Tệp .docx ghi ra"),
    hostile: bool = typer.Option(False, "--hostile", help="Dữ liệu khó: &, <, NFD, tên 200 ký tự, 3.000 dòng"),
    draft: bool = typer.Option(False, "--draft", help="Dự thảo: số và ngày để trống"),
) -> None:
    """Tạo một văn bản mẫu từ dữ liệu có sẵn (không cần cơ sở dữ liệu)."""
    if doc_type not in BUILDERS:
        raise InvalidInput(f"Không có mẫu cho loại «{doc_type}»", details=[f"chọn: {', '.join(BUILDERS)}"])
    out.write_bytes(render(doc_type, sample_context(doc_type, hostile=hostile, draft=draft)))
    console.print(f"Đã ghi {out}", highlight=False)


@docs_app.command("check")
def check_cmd(path: Path = typer.Argument(..., help="Tệp .docx"),
              doc_type: str = typer.Argument(..., metavar="TYPE"),
              index_set: str = typer.Option("4725", "--index-set", help="Bộ chỉ số để đối chiếu điểm và mức")) -> None:
    """Kiểm tra một tệp .docx: thể thức (A4, lề, phông, tiêu đề, số, ngày, chữ ký, nơi nhận) và nội dung
    (bảng kết quả có dòng, điểm và mức khớp ngưỡng của bộ chỉ số, không còn tên quận/huyện sau 1/7/2025)."""
    problems = check_docx(path.read_bytes(), doc_type, index_set=index_set)
    if problems:
        raise InvalidInput(f"{path.name}: {len(problems)} lỗi thể thức, nội dung", details=problems)
    console.print(f"{path.name}: đúng thể thức", highlight=False)


@docs_app.command("settings")
def settings_cmd(
    unit: str = typer.Argument(..., help="Mã đơn vị"),
    mode: str | None = typer.Option(None, "--mode", help="head, KT, TM, TM_KT, Q, TL, TL_KT, TUQ"),
    head_title: str | None = typer.Option(None, "--head-title"),
    body: str | None = typer.Option(None, "--body", help="Tập thể ký TM., ví dụ ỦY BAN NHÂN DÂN"),
    signer_name: str | None = typer.Option(None, "--signer-name"),
    signer_title: str | None = typer.Option(None, "--signer-title"),
    unit_head_title: str | None = typer.Option(None, "--unit-head-title"),
    keying: str | None = typer.Option(None, "--keying", help="unit_year_type (mặc định) hoặc unit_year"),
    certificate_code: str | None = typer.Option(None, "--certificate-code"),
    archive_unit: str | None = typer.Option(None, "--archive-unit"),
    contact_name: str | None = typer.Option(None, "--contact-name", help="Người liên hệ (in trong Kế hoạch, Công văn)"),
    contact_title: str | None = typer.Option(None, "--contact-title", help="Chức vụ người liên hệ"),
    contact_email: str | None = typer.Option(None, "--contact-email"),
    contact_phone: str | None = typer.Option(None, "--contact-phone"),
    submission_link: str | None = typer.Option(None, "--submission-link", help="Đường link nộp hồ sơ"),
) -> None:
    """Xem hoặc đặt cách ký và đánh số văn bản của một đơn vị."""
    values = {"signature_mode": mode, "head_title": head_title, "body_name": body, "signer_name": signer_name,
              "signer_title": signer_title, "unit_head_title": unit_head_title, "register_keying": keying,
              "certificate_code": certificate_code, "archive_unit": archive_unit,
              "contact_name": contact_name, "contact_title": contact_title, "contact_email": contact_email,
              "contact_phone": contact_phone, "submission_link": submission_link}
    current = doc_settings.update_settings(wiring.engine(), unit, {k: v for k, v in values.items() if v is not None})
    for key, value in current.items():
        console.print(f"  {key}: {value}", highlight=False)


@docs_app.command("steering")
def steering_cmd(
    unit: str = typer.Argument(..., help="Mã đơn vị (Phòng, trường)"),
    file: Path | None = typer.Argument(None, help="Tệp .csv/.xlsx: Họ và tên, Chức vụ, Vai trò, Nhiệm vụ, Email, Điện thoại"),
    by: str = typer.Option("cli", "--by", help="Người cập nhật"),
) -> None:
    """Lưu (thay) hoặc xem danh sách bộ phận chỉ đạo, phụ trách CNTT và chuyển đổi số của một đơn vị."""
    engine = wiring.engine()
    if file is not None:
        rows = read_table(file, steering.STEERING_COLUMNS)
        members = [steering.SteeringInput(**{k: r.get(k, "") for k in steering.STEERING_COLUMNS}) for _, r in rows]
        with wiring.uow(engine) as uow:
            n = steering.set_steering(uow, unit, members, by)
        console.print(f"Đã lưu bộ phận chỉ đạo của {unit}: {n} thành viên", highlight=False)
    with wiring.uow(engine) as uow:
        members = steering.unit_steering(uow, unit)
    for m in members:
        console.print(f"  {m.full_name} - {m.position} - {steering.STEERING_ROLES[m.role]}"
                      f"{' - ' + m.email if m.email else ''}{' - ' + m.phone if m.phone else ''}", highlight=False)


@docs_app.command("certificates")
def certificates_cmd(
    campaign: int = typer.Option(..., "--campaign", help="Số đợt đánh giá"),
    out: Path = typer.Option(Path("giay-chung-nhan"), "--out", help="Thư mục ghi tệp"),
    issued_on: str | None = typer.Option(None, "--date", help="Ngày cấp (YYYY-MM-DD), mặc định hôm nay"),
    pdf: bool = typer.Option(True, "--pdf/--no-pdf", help="Ghép một tệp PDF để in (cần LibreOffice)"),
    workers: int = typer.Option(2, "--workers", min=1),
    by: str = typer.Option("cli", "--by", help="Người lập"),
) -> None:
    """In Giấy chứng nhận cho mọi trường được công nhận: mỗi trường một tệp .docx và một tệp PDF gộp."""
    with Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=console, transient=False) as bar:
        tasks: dict[str, int] = {}

        def report(phase: str, done: int, total: int) -> None:
            if phase not in tasks:
                tasks[phase] = bar.add_task(phase, total=total)
            bar.update(tasks[phase], completed=done, total=total)

        run = print_certificates(wiring.engine(), campaign, out, pdf=pdf, issued_on=_date(issued_on), actor=by,
                                 workers=workers, progress=report)
    console.print(f"Giấy chứng nhận: {len(run.docx)} tệp ({run.issued} cấp mới, {run.reproduced} đã cấp trước) "
                  f"trong {out}", highlight=False)
    if run.pdf:
        console.print(f"Tệp PDF để in: {run.pdf}", highlight=False)
    _print_skipped(run.skipped, out)


SKIPPED_SHOWN = 50  # schools named on screen; a province's whole list goes to a workbook
SKIPPED_FILE = "truong-bo-qua.xlsx"


def _print_skipped(skipped: list[tuple[str, str]], out: Path) -> None:
    """The skipped schools with why: the first SKIPPED_SHOWN on screen, all of them in a workbook."""
    if not skipped:
        return
    console.print(f"Bỏ qua {len(skipped)} trường chưa đủ điều kiện:", highlight=False)
    for code, why in skipped[:SKIPPED_SHOWN]:
        console.print(f"  {code}: {why}", highlight=False)
    if len(skipped) > SKIPPED_SHOWN:
        path = out / SKIPPED_FILE
        path.write_bytes(workbook("Trường bỏ qua", f"Bỏ qua {len(skipped)} trường chưa đủ điều kiện",
                                  [Column("Mã trường", 16), Column("Lý do", 90)], skipped))
        console.print(f"  … và {len(skipped) - SKIPPED_SHOWN} trường khác: danh sách đầy đủ trong {path}",
                      highlight=False)


def register(app: typer.Typer) -> None:
    app.add_typer(docs_app, name="docs")
