"""Web commands: `cdsflow serve`, `cdsflow account create|list|demo|disable|enable` (more in cli_admin.py). Translation only."""
from __future__ import annotations

import gc
import socket

import typer
from rich.table import Table

from cdsflow.app import wiring
from cdsflow.app.console import console
from cdsflow.services import accounts as account_svc
from cdsflow.services import password_links

account_app = typer.Typer(help="Tài khoản đăng nhập trang web.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.command("serve")(serve_cmd)
    app.add_typer(account_app, name="account")


def serve_cmd(
    host: str = typer.Option("127.0.0.1", "--host", help="Địa chỉ lắng nghe"),
    port: int = typer.Option(8000, "--port", help="Cổng (0: để hệ điều hành chọn)"),
    workers: int = typer.Option(1, "--workers", min=1, max=64,
                                help="Số tiến trình phục vụ (dùng chung cổng; >1 khi dùng PostgreSQL)"),
    secure_cookies: bool = typer.Option(False, "--secure-cookies", envvar="CDSFLOW_SECURE_COOKIES",
                                        help="Cookie chỉ gửi qua HTTPS (tự bật khi yêu cầu đến qua HTTPS)"),
) -> None:
    """Chạy trang web cdsflow."""
    import os

    import uvicorn

    sock = listening_socket(host, port)
    shown = f"[{host}]" if ":" in host else host
    console.print(f"cdsflow đang chạy tại http://{shown}:{sock.getsockname()[1]}/"
                  + (f" ({workers} tiến trình)" if workers > 1 else ""), highlight=False)
    # Forwarded headers are the app's business (main: CDSFLOW_TRUSTED_PROXIES), not uvicorn's default trust.
    common = dict(log_level="warning", access_log=False, proxy_headers=False)
    if workers == 1:
        config = uvicorn.Config(web_app(secure_cookies), **common)
        uvicorn.Server(config).run(sockets=[sock])
        return
    from uvicorn.supervisors import Multiprocess

    # Worker processes build their own app (and engine) from the environment.
    if secure_cookies:
        os.environ[SECURE_COOKIES_ENV] = "1"
    config = uvicorn.Config("cdsflow.app.cli_web:web_app", factory=True, workers=workers, **common)
    Multiprocess(config, sockets=[sock]).run()  # uvicorn's own supervisor: restarts a worker that dies


SECURE_COOKIES_ENV = "CDSFLOW_SECURE_COOKIES"


def listening_socket(host: str, port: int) -> socket.socket:
    """The socket `serve` listens on, bound first so that port 0 gives a real port to print before
    serving; with several workers every process accepts on this one socket.

    IPPROTO_TCP is named, not left 0: asyncio turns Nagle off (TCP_NODELAY) only on sockets whose
    proto says TCP, and with proto 0 every response waited ~40 ms for the client's delayed ACK
    (a trivial page took 44 ms instead of 2 ms)."""
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(2048)  # connections wait in the backlog until the server (or its workers) accept them
    return sock


def web_app(secure_cookies: bool | None = None):
    """The app a serving process runs (uvicorn's factory in each worker process)."""
    import os

    # FastAPI and the whole web app cost every other command ~1 s of start-up (measured with
    # `python -X importtime`): only the serving process loads them.
    from cdsflow.app.web.app import create_app

    wiring.install()
    if secure_cookies is None:
        secure_cookies = bool(os.environ.get(SECURE_COOKIES_ENV))
    app = create_app(wiring.engine(), secure_cookies=secure_cookies)
    # Everything loaded so far (modules, templates, the index sets, SQLAlchemy's mappers) lives as
    # long as the process: out of the collector's sight, a full collection during a request walks
    # only what requests made, not the whole app again (a request's tail, not its median).
    gc.freeze()
    return app


@account_app.command("create")
def account_create(
    username: str = typer.Argument(..., help="Tên đăng nhập"),
    full_name: str = typer.Option(..., "--name", help="Họ và tên"),
    role: str = typer.Option(..., "--role", help=", ".join(r.value for r in account_svc.Role)),
    unit: str = typer.Option(None, "--unit", help="Mã đơn vị"),
    email: str = typer.Option(None, "--email", help="Địa chỉ thư (nhận liên kết đặt mật khẩu)"),
    send_link: bool = typer.Option(False, "--send-link",
                                   help="Không đặt mật khẩu: gửi liên kết để người dùng tự đặt (cần --email)"),
    password: str = typer.Option(None, "--password", help="Mật khẩu (hỏi khi không ghi và không dùng --send-link)"),
) -> None:
    """Tạo tài khoản đăng nhập."""
    if password is None and not send_link:
        password = typer.prompt("Mật khẩu", hide_input=True, confirmation_prompt="Nhập lại mật khẩu")
    with wiring.uow() as u:
        account = account_svc.create_account(u, username=username, full_name=full_name, role=role,
                                             password=None if send_link else password, unit_code=unit, email=email,
                                             commit=not send_link)
        if send_link:
            password_links.send_link(u, account, password_links.SETUP)
            u.commit()
    console.print(f"Đã tạo tài khoản «{account.username}» ({account_svc.Role(account.role).label})"
                  + ("; đã xếp thư có liên kết đặt mật khẩu vào hàng đợi gửi." if send_link else "."))


@account_app.command("list")
def account_list() -> None:
    """Liệt kê tài khoản."""
    with wiring.uow() as u:
        rows = account_svc.list_accounts(u)
    table = Table("Tên đăng nhập", "Họ và tên", "Vai trò", "Đơn vị", "Hoạt động", title=f"{len(rows)} tài khoản")
    for r in rows:
        table.add_row(r.username, r.full_name, r.role.label, r.unit_name, "có" if r.active else "không")
    console.print(table)


@account_app.command("demo")
def account_demo() -> None:
    """Tạo các tài khoản mẫu (một tài khoản cho mỗi vai trò) trên dữ liệu mẫu và in mật khẩu."""
    with wiring.uow() as u:
        rows = account_svc.create_demo_accounts(u)
    table = Table("Tên đăng nhập", "Mật khẩu", "Vai trò", title="Tài khoản mẫu (chỉ dùng để thử)")
    for username, password, label in rows:
        table.add_row(username, password, label)
    console.print(table)


@account_app.command("disable")
def account_disable(username: str = typer.Argument(..., help="Tên đăng nhập")) -> None:
    """Khóa tài khoản: không đăng nhập được nữa, mọi phiên đang mở kết thúc ngay."""
    with wiring.uow() as u:
        account_svc.set_active(u, username, False)
    console.print(f"Đã khóa tài khoản «{account_svc.normalise_username(username)}»; mọi phiên đăng nhập đã kết thúc.")


@account_app.command("enable")
def account_enable(username: str = typer.Argument(..., help="Tên đăng nhập")) -> None:
    """Mở khóa tài khoản."""
    with wiring.uow() as u:
        account_svc.set_active(u, username, True)
    console.print(f"Đã mở khóa tài khoản «{account_svc.normalise_username(username)}».")
