"""`cdsflow signing`: a unit's certificate and images, signing a numbered paper, checking a signed
PDF. Translation only: the rules are in services/signing.py and the rulebook."""
from __future__ import annotations

import getpass
import os
from pathlib import Path

import typer

from cdsflow.app.console import console
from cdsflow.kernel.errors import InvalidInput
from cdsflow.services import signatures, signing
from cdsflow.services.units import get_unit
from cdsflow.storage.db import UnitOfWork, make_engine
from cdsflow.workflow.context import ActorRef

signing_app = typer.Typer(help="Chữ ký số: chứng thư số của đơn vị, ký số văn bản, kiểm tra tệp PDF đã ký.",
                          no_args_is_help=True)
PASSWORD_ENV = "CDSFLOW_P12_PASSWORD"
PIN_ENV = "CDSFLOW_PKCS11_PIN"


def register(app: typer.Typer) -> None:
    app.add_typer(signing_app, name="signing")


def _read(path: Path, what: str) -> bytes:
    try:
        return path.read_bytes()
    except OSError:
        raise InvalidInput(f"Không đọc được {what}: {path.name}") from None


def _actor(uow: UnitOfWork, by: str, unit: str | None) -> ActorRef | str:
    return ActorRef(by, get_unit(uow, unit).id) if unit else by


@signing_app.command("identity")
def identity(
    unit: str = typer.Argument(..., help="Mã đơn vị"),
    p12: Path = typer.Argument(None, help="Tệp chứng thư số PKCS#12 (.p12 hoặc .pfx); bỏ trống khi dùng thiết bị ký số"),
    by: str = typer.Option(..., "--by", help="Người thực hiện"),
    pkcs11_module: str = typer.Option("", "--pkcs11-module", help="Thiết bị ký số (token/HSM): đường dẫn thư viện PKCS#11"),
    token_label: str = typer.Option("", "--token-label", help="Nhãn của thiết bị ký số"),
    key_label: str = typer.Option("", "--key-label", help="Nhãn của khóa ký (và chứng thư số) trên thiết bị"),
    tsa_url: str = typer.Option("", "--tsa-url", help="Máy chủ dấu thời gian (RFC 3161) cho chữ ký của đơn vị; "
                                                       "bỏ trống: dùng CDSFLOW_TSA_URL nếu có"),
    revocation: bool = typer.Option(False, "--revocation/--no-revocation",
                                    help="Kèm thông tin thu hồi (CRL/OCSP) của chứng thư số vào chữ ký (PAdES B-LT)"),
    lta: bool = typer.Option(False, "--lta/--no-lta",
                             help="Thêm dấu thời gian tài liệu sau thông tin thu hồi (PAdES B-LTA; cần --revocation)"),
) -> None:
    """Lưu (hoặc thay) chứng thư số của đơn vị: một tệp PKCS#12, hoặc một thiết bị ký số PKCS#11.
    Mật khẩu của tệp lấy từ biến môi trường CDSFLOW_P12_PASSWORD, mã PIN của thiết bị từ
    CDSFLOW_PKCS11_PIN, hoặc được hỏi (không hiện khi gõ)."""
    with UnitOfWork(make_engine()) as uow:
        if pkcs11_module:
            if p12 is not None:
                raise InvalidInput("Chọn một: tệp PKCS#12 hoặc thiết bị ký số (--pkcs11-module), không cả hai")
            pin = os.environ.get(PIN_ENV) or getpass.getpass("Mã PIN của thiết bị ký số: ")
            row = signing.set_token_identity(uow, unit, pkcs11_module, token_label, key_label, pin, by,
                                             tsa_url=tsa_url, embed_revocation=revocation, lta=lta)
        else:
            if p12 is None:
                raise InvalidInput("Cần tệp chứng thư số PKCS#12, hoặc --pkcs11-module cho thiết bị ký số")
            data = _read(p12, "tệp chứng thư số")
            password = os.environ.get(PASSWORD_ENV) or getpass.getpass("Mật khẩu của tệp chứng thư số: ")
            row = signing.set_identity(uow, unit, data, password, by, tsa_url=tsa_url, embed_revocation=revocation,
                                       lta=lta)
    where = f" trên thiết bị ký số «{row.token_label}»" if row.pkcs11_module else ""
    console.print(f"Đã lưu chứng thư số của «{row.subject}»{where} cho đơn vị {unit} "
                  f"(hiệu lực đến {row.not_after:%d/%m/%Y}).")


@signing_app.command("image")
def image(
    unit: str = typer.Argument(..., help="Mã đơn vị"),
    png: Path = typer.Argument(..., help="Ảnh PNG nền trong suốt"),
    kind: str = typer.Option(..., "--kind", help="signature = ảnh chữ ký, seal = ảnh con dấu"),
    signer: str = typer.Option("", "--signer", help="Tên người ký (với ảnh chữ ký), như in dưới chữ ký"),
    by: str = typer.Option(..., "--by", help="Người thực hiện"),
) -> None:
    """Lưu ảnh chữ ký của một người ký hoặc ảnh con dấu của đơn vị."""
    data = _read(png, "ảnh")
    with UnitOfWork(make_engine()) as uow:
        signing.set_image(uow, unit, kind, data, by, signer_name=signer)
    console.print(f"Đã lưu ảnh {signing.KINDS.get(kind, kind)}" + (f" của {signer}" if signer else "") + f" cho đơn vị {unit}.")


@signing_app.command("trust")
def trust(
    unit: str = typer.Argument(..., help="Mã đơn vị"),
    cert: Path = typer.Argument(..., help="Chứng thư số gốc (PEM hoặc DER) mà đơn vị tin cậy"),
    by: str = typer.Option(..., "--by", help="Người thực hiện"),
) -> None:
    """Thêm một chứng thư số gốc vào danh sách tin cậy của đơn vị (dùng khi kiểm tra tệp PDF đã ký)."""
    data = _read(cert, "chứng thư số gốc")
    with UnitOfWork(make_engine()) as uow:
        row = signing.add_trust_anchor(uow, unit, data, by)
    console.print(f"Đơn vị {unit} tin cậy: {row.subject}")


@signing_app.command("show")
def show(unit: str = typer.Argument(..., help="Mã đơn vị")) -> None:
    """Xem chứng thư số, ảnh chữ ký, con dấu và danh sách tin cậy của đơn vị."""
    with UnitOfWork(make_engine()) as uow:
        s = signing.summary(uow.session, unit)
    if s.subject:
        console.print(f"{s.unit}: chứng thư số của «{s.subject}» ({s.key_place}), hiệu lực đến {s.not_after:%d/%m/%Y}.")
        console.print("Dấu thời gian: " + (s.tsa_url or "không") + " · thông tin thu hồi: "
                      + ("kèm theo chữ ký" if s.embed_revocation else "không")
                      + (" · dấu thời gian tài liệu (B-LTA)" if s.lta else ""))
    else:
        console.print(f"{s.unit}: chưa có chứng thư số (văn bản vẫn ban hành và tải lên bản đã ký như thường).")
    console.print("Ảnh chữ ký: " + (", ".join(s.signers) or "chưa có") + f" · con dấu: {'có' if s.has_seal else 'chưa có'}")
    console.print("Tin cậy: " + ("; ".join(s.trusted_roots) or "chưa có chứng thư số gốc nào"))


@signing_app.command("sign")
def sign(
    document_id: int = typer.Argument(..., help="Mã lưu của văn bản đã cấp số (cột «Mã lưu» của sổ)"),
    by: str = typer.Option(..., "--by", help="Người ký"),
    unit: str = typer.Option(None, "--unit", help="Mã đơn vị người ký đại diện (mặc định: đơn vị ban hành)"),
    attachment: Path = typer.Option(None, "--attachment", help="Ký số một văn bản kèm theo (PDF) thay cho văn bản chính"),
    out: Path = typer.Option(None, "--out", help="Với --attachment: tệp PDF đã ký ghi ra"),
) -> None:
    """Ký số một văn bản đã cấp số bằng chứng thư số của đơn vị; bản PDF đã ký được lưu làm bản đã ký trong sổ."""
    engine = make_engine()
    with UnitOfWork(engine) as uow:
        actor = _actor(uow, by, unit)
    if attachment is not None:
        if out is None:
            raise InvalidInput("Ký văn bản kèm theo cần --out (tệp PDF đã ký ghi ra)")
        out.write_bytes(signing.sign_attachment(engine, document_id, _read(attachment, "văn bản kèm theo"), actor))
        console.print(f"Đã ký số văn bản kèm theo, ghi ra {out}.")
        return
    result = signing.sign_paper(engine, document_id, actor)
    console.print(f"Văn bản {result.number_line}: {result.label}. "
                  f"Bản PDF đã ký được lưu trong sổ (bản đã ký số {result.copy_id}).")


@signing_app.command("verify")
def verify(
    file: Path = typer.Argument(..., help="Tệp PDF cần kiểm tra"),
    unit: str = typer.Option(..., "--unit", help="Mã đơn vị: kiểm tra theo danh sách tin cậy của đơn vị này và cấp trên"),
) -> None:
    """Kiểm tra chữ ký số của một tệp PDF: còn nguyên vẹn không, ai ký, lúc nào, có tin cậy không."""
    data = _read(file, "tệp PDF")
    with UnitOfWork(make_engine()) as uow:
        found = signatures.verify_bytes(uow.session, data, get_unit(uow, unit).id)
    console.print(f"{file.name}: {found.label()}")
    if found.revocation_info:
        console.print("Tệp mang thông tin thu hồi (CRL/OCSP) của chứng thư số: kiểm tra được lâu dài (PAdES B-LT).")
    if not found.valid:
        raise typer.Exit(1)
