"""`cdsflow mail …`, `cdsflow remind …`, `cdsflow worker`: translation only."""
from __future__ import annotations

import asyncio
import signal
from datetime import UTC, datetime
from email import message_from_string
from email.message import Message

import typer
from rich.table import Table

from cdsflow.app import wiring
from cdsflow.app.console import console, err_console
from cdsflow.app.worker import Worker, WorkerOptions
from cdsflow.calendars.timeutil import TZ as VN_TZ
from cdsflow.calendars.timeutil import TimeFormatError, local, parse_date, parse_deadline, start_of_day
from cdsflow.kernel.errors import InvalidInput
from cdsflow.notifications.sender import drain_outbox_sync
from cdsflow.notifications.settings import SINK_HOST, SINK_PORT, load_settings
from cdsflow.notifications.sink import DatabaseSinkStore, decoded_header, start_sink
from cdsflow.scheduler.preview import first_subjects, policy_lines, preview_day
from cdsflow.services.mail import mail_listing, remind_now, retry_failed_mail, sink_message_raw


def _parse_at(text: str) -> tuple[datetime, bool]:
    """'2025-03-28', '2025-03-28 08:00', '28/03/2025 [08:00]' → (instant in Vietnam, time given?)."""
    raw = text.strip()
    parts = raw.split()
    if parts and "/" in parts[0]:
        pieces = parts[0].split("/")
        if len(pieces) == 3 and all(p.isdigit() for p in pieces):
            raw = " ".join([f"{pieces[2]}-{pieces[1]}-{pieces[0]}", *parts[1:]])
    try:
        if len(raw.replace("T", " ").split()) == 1:
            return start_of_day(parse_date(raw)), False
        return parse_deadline(raw), True
    except TimeFormatError as err:
        raise InvalidInput(f"--at: {err}", details=["ví dụ: 2025-03-28, 2025-03-28 08:00, 28/03/2025"]) from None


def _vn(at: datetime | None) -> str:
    return at.astimezone(VN_TZ).strftime("%d/%m/%Y %H:%M") if at else ""


def _start_local_sink(engine, settings):
    """The embedded sink, unless its port is taken (another worker's sink is already there)."""
    try:
        return start_sink(DatabaseSinkStore(engine), host=settings.host, port=settings.port)
    except (OSError, RuntimeError):
        return None


mail_app = typer.Typer(help="Thư điện tử: hộp thư cục bộ, thư lỗi, gửi hàng đợi.", no_args_is_help=True)
remind_app = typer.Typer(help="Nhắc hạn: xem trước, nhắc ngay.", no_args_is_help=True)


@mail_app.command("list")
def mail_list(
    failed: bool = typer.Option(False, "--failed", help="Thư gửi thất bại (hàng đợi) thay vì hộp thư cục bộ"),
    limit: int = typer.Option(50, "--limit", min=1, help="Số thư tối đa"),
) -> None:
    """Liệt kê thư hộp thư cục bộ đã nhận (mới nhất trước), hoặc thư gửi thất bại."""
    listing = mail_listing(wiring.engine(), failed=failed, limit=limit)
    counts = listing.counts
    if failed:
        table = Table("ID", "Người nhận", "Số lần thử", "Lỗi", "Tiêu đề", title="Thư gửi thất bại")
        for r in listing.failed:
            table.add_row(str(r.id), r.recipient, str(r.attempts), r.last_error, r.subject)
        shown = len(listing.failed)
    else:
        table = Table("ID", "Nhận lúc", "Người nhận", "Tiêu đề", title=f"Hộp thư cục bộ ({listing.received_total} thư)")
        for r in listing.received:
            table.add_row(str(r.id), _vn(r.received_at), r.rcpt_tos, r.subject)
        shown = len(listing.received)
    if shown:
        console.print(table)
    else:
        console.print("Không có thư gửi thất bại." if failed else "Hộp thư cục bộ chưa có thư nào.")
    labels = {"pending": "chờ gửi", "sending": "đang gửi", "sent": "đã gửi", "failed": "thất bại"}
    summary = ", ".join(f"{labels.get(k, k)}: {v}" for k, v in sorted(counts.items()))
    console.print(f"Hàng đợi thư: {summary or 'trống'}", highlight=False)


@mail_app.command("show")
def mail_show(message_id: int = typer.Argument(..., help="ID trong `cdsflow mail list`")) -> None:
    """Hiện một thư của hộp thư cục bộ: tiêu đề, người gửi, nội dung, tệp đính kèm."""
    msg: Message = message_from_string(sink_message_raw(wiring.engine(), message_id))
    for name, label in (("From", "Từ"), ("To", "Đến"), ("Reply-To", "Trả lời"), ("Date", "Ngày"),
                        ("Subject", "Tiêu đề"), ("Message-ID", "Message-ID")):
        if msg[name]:
            console.print(f"[bold]{label}:[/] {decoded_header(msg[name])}", highlight=False, soft_wrap=True)
    console.print()
    body, files = "", []
    for part in msg.walk():
        if part.get_filename():
            files.append(decoded_header(part.get_filename()))
        elif part.get_content_type() == "text/plain" and not body:
            payload = part.get_payload(decode=True) or b""
            body = payload.decode(part.get_content_charset() or "utf-8", errors="replace")
    console.print(body, highlight=False, markup=False, soft_wrap=True)
    for name in files:
        console.print(f"[bold]Đính kèm:[/] {name}", highlight=False)


@mail_app.command("send")
def mail_send() -> None:
    """Gửi ngay các thư đã đến hạn trong hàng đợi (một lượt), rồi thoát."""
    engine, settings = wiring.engine(), load_settings()
    sink = _start_local_sink(engine, settings) if settings.use_sink else None
    try:
        stats = drain_outbox_sync(engine, settings)
    finally:
        if sink is not None:
            sink.stop()
    console.print(f"Đã gửi {stats.sent} thư; {stats.retried} thư sẽ thử lại; {stats.failed} thư thất bại.")
    for e in stats.errors[:5]:
        err_console.print(f"  - {e}", highlight=False)


@mail_app.command("sink")
def mail_sink(port: int = typer.Option(None, "--port", help="Cổng (mặc định 8025)")) -> None:
    """Chạy riêng hộp thư cục bộ (127.0.0.1), giữ mọi thư nhận được. Ctrl+C để dừng."""
    controller = start_sink(DatabaseSinkStore(wiring.engine()), host=SINK_HOST, port=port or SINK_PORT)
    console.print(f"Hộp thư cục bộ đang nhận thư tại {SINK_HOST}:{port or SINK_PORT}. Ctrl+C để dừng.")
    try:
        signal.sigwait({signal.SIGINT, signal.SIGTERM})
    finally:
        controller.stop()


@remind_app.command("preview")
def remind_preview(
    at: str = typer.Option(..., "--at", help="Ngày (giờ) cần xem: 2025-03-28 hoặc '2025-03-28 08:00'"),
    campaign: int = typer.Option(None, "--campaign", help="Chỉ một kế hoạch (ID)"),
) -> None:
    """Xem trước các thư nhắc hạn sẽ gửi trong ngày chứa thời điểm đó (theo dữ liệu hiện tại), không gửi gì."""
    # Reminder jobs fire at the start of the sending hours, so the unit is the whole day
    # containing the moment asked about.
    instant, _ = _parse_at(at)
    with wiring.uow() as u:
        items = preview_day(u.session, local(instant).date(), campaign_id=campaign)
        policies = policy_lines(u.session, campaign_id=campaign)
    if policies:
        console.print("Chính sách nhắc hạn (theo lịch của kế hoạch):", highlight=False)
        for line in policies:
            console.print(f"  Kế hoạch {line.campaign_id}, mốc {line.milestone_key} (hạn {line.deadline}): {line.policy}",
                          highlight=False, markup=False, soft_wrap=True)
    if not items:
        console.print(f"Không có thư nhắc hạn nào vào ngày {local(instant):%d/%m/%Y}.")
        return
    table = Table("Kế hoạch", "Mốc", "Lượt nhắc", "Giờ gửi", "Trường chưa đạt", "Thư", "Thư tổng hợp",
                  title=f"Thư nhắc hạn ngày {local(instant):%d/%m/%Y} (chưa gửi)")
    total = 0
    for item in items:
        r, plan = item.reminder, item.plan
        table.add_row(str(r.campaign_id), r.milestone_key, r.offset_key, _vn(r.at),
                      str(plan.late_schools), str(item.messages), str(plan.digests))
        total += item.messages
    console.print(table)
    for item in items:
        if item.plan.skipped_reason:
            console.print(f"{item.reminder.job_id}: không gửi ({item.plan.skipped_reason})", highlight=False)
        for subject in first_subjects(item.plan):
            console.print(f"  {subject}", highlight=False, markup=False, soft_wrap=True)
        if item.plan.schools_without_email:
            names = ", ".join(item.plan.schools_without_email[:5])
            err_console.print(f"Cảnh báo: {len(item.plan.schools_without_email)} trường chưa có địa chỉ thư: {names}",
                              highlight=False)
    console.print(f"Tổng cộng {total} thư.")


@remind_app.command("now")
def remind_now_cmd(
    campaign: int = typer.Option(..., "--campaign", help="ID kế hoạch"),
    milestone: str = typer.Option(..., "--milestone", help="Mã mốc thời gian (ví dụ to_trinh)"),
    send: bool = typer.Option(False, "--send", help="Gửi ngay hàng đợi sau khi xếp thư"),
) -> None:
    """Nhắc ngay các trường chưa hoàn thành một mốc (mỗi mốc tối đa một lần mỗi ngày)."""
    now = datetime.now(UTC)
    engine = wiring.engine()
    result = remind_now(engine, campaign, milestone, now)
    if result.skipped_reason:
        console.print(f"Không nhắc: {result.skipped_reason}.")
        return
    if result.planned and not result.written:
        console.print("Hôm nay đã nhắc mốc này rồi: không gửi lại.")
    else:
        console.print(f"{result.late_schools} trường chưa hoàn thành; đã xếp {result.written} thư vào hàng đợi.")
    if result.schools_without_email:
        err_console.print(f"Cảnh báo: {len(result.schools_without_email)} trường chưa có địa chỉ thư.")
    if result.goes_out_at > now:
        console.print(f"Ngoài giờ gửi thư: thư sẽ đi lúc {_vn(result.goes_out_at)}.")
    if send:
        mail_send()


@mail_app.command("retry")
def mail_retry(
    message_id: int = typer.Option(None, "--id", help="ID của thư thất bại (xem `cdsflow mail list --failed`)"),
    all_failed: bool = typer.Option(False, "--all", help="Gửi lại mọi thư thất bại"),
) -> None:
    """Đưa thư gửi thất bại trở lại hàng đợi; tiến trình nền sẽ gửi lại."""
    if (message_id is None) == (not all_failed):
        raise InvalidInput("Chọn một trong hai: --id N (một thư) hoặc --all (mọi thư thất bại)")
    n = retry_failed_mail(wiring.engine(), [message_id] if message_id is not None else None,
                          datetime.now(UTC))
    console.print(f"Đã đưa {n} thư trở lại hàng đợi; tiến trình nền (cdsflow worker) sẽ gửi lại."
                  if n else "Không có thư thất bại nào để gửi lại.")


def worker_cmd(
    no_sink: bool = typer.Option(False, "--no-sink", help="Không chạy hộp thư cục bộ"),
    once: bool = typer.Option(False, "--once", help="Chạy các lượt nhắc đến hạn, gửi hàng đợi một lượt rồi thoát"),
    poll: float = typer.Option(2.0, "--poll", min=0.05, help="Giây giữa hai lượt quét hàng đợi"),
    tick: float = typer.Option(30.0, "--tick", min=0.05, help="Giây giữa hai lần tìm lượt nhắc hạn đến hạn"),
    beat: float = typer.Option(10.0, "--beat", min=0.05, help="Giây giữa hai nhịp tim (trang Hộp thư)"),
) -> None:
    """Tiến trình nền: bộ lập lịch nhắc hạn, bộ gửi thư và (mặc định) hộp thư cục bộ."""
    import logging

    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    engine, settings = wiring.engine(), load_settings()
    sink = None
    if settings.use_sink and not no_sink:
        sink = _start_local_sink(engine, settings)
        where = f"{settings.host}:{settings.port}"
        console.print(f"Hộp thư cục bộ: {where}" if sink else f"Hộp thư cục bộ đã chạy sẵn tại {where}")

    def report(text: str) -> None:
        console.print(text, highlight=False, soft_wrap=True)

    worker = Worker(engine, settings, WorkerOptions(poll=poll, tick=tick, beat=beat, once=once, report=report))

    async def run() -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, worker.request_stop)
        await worker.run()

    try:
        asyncio.run(run())
    finally:
        if sink is not None:
            sink.stop()
    console.print("Đã dừng tiến trình nền.")


def register(app: typer.Typer) -> None:
    app.add_typer(mail_app, name="mail")
    app.add_typer(remind_app, name="remind")
    app.command("worker")(worker_cmd)
