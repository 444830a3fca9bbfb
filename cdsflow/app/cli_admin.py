"""Administration: `cdsflow backup`, `cdsflow restore`, `cdsflow home`, and `cdsflow accounts …`
(the same group as `cdsflow account …`: a campaign's school accounts, edit, unlock, links, own
password). Translation only: every rule is in workflow/services."""
from __future__ import annotations

from pathlib import Path

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from cdsflow.app import wiring
from cdsflow.app.cli_web import account_app
from cdsflow.app.console import console
from cdsflow.app.web.exports import Column, workbook
from cdsflow.kernel import home
from cdsflow.services import accounts as account_svc
from cdsflow.services import password_links, school_accounts
from cdsflow.services.school_accounts import create_school_accounts
from cdsflow.services.units import get_unit_code
from cdsflow.storage.backup import backup, restore
from cdsflow.storage.db import database_url


def register(app: typer.Typer) -> None:
    app.command("backup")(backup_cmd)
    app.command("restore")(restore_cmd)
    app.command("home")(home_cmd)
    account_app.command("schools")(accounts_schools_cmd)
    account_app.command("edit")(accounts_edit_cmd)
    account_app.command("unlock")(accounts_unlock_cmd)
    account_app.command("link")(accounts_link_cmd)
    account_app.command("password")(accounts_password_cmd)
    app.add_typer(account_app, name="accounts")


DETAIL_COLUMNS = [Column(t, w) for t, w in zip(school_accounts.DETAIL_COLUMNS, (6, 16, 40, 30, 70), strict=True)]
SUMMARY_NAMES = 20  # schools named in the summary; the rest are in the details file


def accounts_schools_cmd(
    campaign: int = typer.Argument(..., help="ID kế hoạch (xem `cdsflow campaign list`)"),
    details: Path | None = typer.Option(None, "--details",
                                 help="Tệp .xlsx ghi kết quả từng trường (mặc định: tai-khoan-truong-ke-hoach-ID.xlsx)"),
) -> None:
    """Tạo tài khoản Hiệu trưởng và Thư ký Hội đồng cho mọi trường của kế hoạch, gửi liên kết đặt mật khẩu.

    Chạy từng đợt ngắn, người khác vẫn ghi được dữ liệu trong lúc chạy; bị dừng giữa chừng thì chạy lại lệnh để tiếp tục.
    """
    with Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=console, transient=False) as bar:
        task = bar.add_task("Tạo tài khoản các trường", total=None)
        with wiring.uow() as u:
            r = create_school_accounts(u, campaign, by="cli",
                                       progress=lambda done, total: bar.update(task, completed=done, total=total))
    assert r.run_id is not None  # a run that writes always has its record
    path = details or Path(f"tai-khoan-truong-ke-hoach-{campaign}.xlsx")
    with wiring.uow() as u:
        heading, rows = school_accounts.details(u, r.run_id)
        path.write_bytes(workbook("Tài khoản các trường", heading, DETAIL_COLUMNS, rows))
        summary = school_accounts.run_report(u, r.run_id, names=SUMMARY_NAMES)
    if r.resumed:
        console.print(f"Tiếp tục lần chạy số {r.run_id} đã dừng giữa chừng: {r.resumed} trường đã xong từ trước.",
                      highlight=False)
    console.print(f"{r.campaign_title}: {summary.schools} trường. Đã tạo {summary.accounts_created} tài khoản, "
                  f"xếp {summary.links_queued} thư có liên kết đặt mật khẩu vào hàng đợi "
                  f"(tiến trình nền `cdsflow worker` gửi đi).", highlight=False)
    if summary.accounts_existing:
        console.print(f"{summary.accounts_existing} tài khoản đã có từ trước, giữ nguyên.", highlight=False)
    missing = summary.schools_without_email
    if missing:
        more = f", … và {missing - len(summary.without_email)} trường khác" if missing > len(summary.without_email) else ""
        console.print(f"{missing} trường chưa có địa chỉ thư nên chưa tạo tài khoản: "
                      f"{', '.join(summary.without_email)}{more}. Bổ sung địa chỉ (cdsflow units import) rồi chạy lại.",
                      highlight=False)
    console.print(f"Kết quả từng trường: {path}", highlight=False)


def accounts_edit_cmd(
    username: str = typer.Argument(..., help="Tên đăng nhập"),
    full_name: str = typer.Option(None, "--name", help="Họ và tên mới"),
    email: str = typer.Option(None, "--email", help="Địa chỉ thư mới (\"\" để xóa)"),
    role: str = typer.Option(None, "--role", help="Vai trò mới"),
    unit: str = typer.Option(None, "--unit", help="Mã đơn vị mới (\"\" để bỏ)"),
) -> None:
    """Sửa họ tên, địa chỉ thư, vai trò, đơn vị của một tài khoản (chỉ những gì được ghi)."""
    with wiring.uow() as u:
        a = account_svc.find_account(u, username)
        current_unit = get_unit_code(u, a.unit_id) if a.unit_id else None
        a = account_svc.update_account(
            u, a.id, full_name=a.full_name if full_name is None else full_name,
            email=a.email if email is None else email, role=a.role if role is None else role,
            unit_code=current_unit if unit is None else (unit.strip() or None))
        label = account_svc.Role(a.role).label
    console.print(f"Đã sửa tài khoản «{a.username}»: {a.full_name}, {label}, thư: {a.email or '(không có)'}.",
                  highlight=False)


def accounts_unlock_cmd(username: str = typer.Argument(..., help="Tên đăng nhập")) -> None:
    """Gỡ tạm khóa do đăng nhập sai nhiều lần (từ mọi địa chỉ)."""
    with wiring.uow() as u:
        account_svc.unlock(u, username)
    console.print(f"Đã gỡ tạm khóa tài khoản «{account_svc.normalise_username(username)}».", highlight=False)


def accounts_link_cmd(username: str = typer.Argument(..., help="Tên đăng nhập")) -> None:
    """Gửi (lại) liên kết đặt mật khẩu tới địa chỉ thư của tài khoản."""
    with wiring.uow() as u:
        password_links.send_setup_link(u, username)
    console.print(f"Đã xếp thư có liên kết đặt mật khẩu cho «{username}» vào hàng đợi gửi.", highlight=False)


def accounts_password_cmd(
    username: str = typer.Argument(..., help="Tên đăng nhập của bạn"),
    current: str = typer.Option(..., "--current", prompt="Mật khẩu hiện tại", hide_input=True,
                                help="Mật khẩu hiện tại (hỏi khi không ghi)"),
    new: str = typer.Option(..., "--new", prompt="Mật khẩu mới", hide_input=True,
                            confirmation_prompt="Nhập lại mật khẩu mới", help="Mật khẩu mới (hỏi khi không ghi)"),
) -> None:
    """Đổi mật khẩu của chính mình (cần mật khẩu hiện tại); mọi phiên đăng nhập trên web kết thúc."""
    with wiring.uow() as u:
        a = account_svc.find_account(u, username)
        account_svc.change_own_password(u, a.id, current, new, new)
    console.print(f"Đã đổi mật khẩu của «{a.username}»; mọi phiên đăng nhập trên web đã kết thúc.", highlight=False)


def backup_cmd(
    file: Path = typer.Argument(..., help="Tệp sao lưu sẽ ghi (.tar.gz)"),
) -> None:
    """Sao lưu cơ sở dữ liệu và tệp (minh chứng tải lên, văn bản đã tạo) vào một tệp."""
    summary = backup(wiring.engine(), file)
    console.print(f"Đã sao lưu ({summary.dialect}, {summary.files} tệp, {summary.size / 1e6:.1f} MB): {summary.path}",
                  highlight=False)


def restore_cmd(
    file: Path = typer.Argument(..., help="Tệp sao lưu đã tạo bằng «cdsflow backup»"),
    replace: bool = typer.Option(False, "--replace", help="Thay toàn bộ dữ liệu hiện có bằng bản sao lưu"),
) -> None:
    """Khôi phục từ một bản sao lưu vào cơ sở dữ liệu và thư mục dữ liệu hiện tại."""
    manifest = restore(wiring.engine(), file, replace=replace)
    console.print(f"Đã khôi phục bản sao lưu lúc {manifest['created_at']} "
                  f"(cdsflow {manifest['cdsflow']}, {len(manifest['files'])} tệp).", highlight=False)


def home_cmd() -> None:
    """In thư mục dữ liệu (CDSFLOW_HOME) và cơ sở dữ liệu đang dùng."""
    console.print(f"Thư mục dữ liệu: {home.home()}", highlight=False)
    console.print(f"Cơ sở dữ liệu: {database_url().split('@')[-1]}", highlight=False)
