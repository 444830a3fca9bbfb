"""The LibreOffice Basic macro that keeps one soffice warm, and the profile files that install it.

Why a Basic macro and not unoserver: unoserver needs LibreOffice's Python bridge (`uno`), which the
Debian packages we run on do not ship without `python3-uno`. Basic is part of LibreOffice itself.
The macro watches a spool folder: a client renames `<id>.docx` into `in/`, the macro converts it
and renames the result to `out/<id>.pdf` (or writes `out/<id>.err`), so a half-written file is never
read by either side. A `stop` file ends the loop and LibreOffice with it, and so does the end of
the process that started it (its /proc entry gone): `serve` or `worker` stopped by a signal, or
killed, leaves no LibreOffice behind. The folder is looked at every 20 ms while papers come, every
100 ms after 5 s without one (idle: ~1 % of a core).
"""
from __future__ import annotations

from pathlib import Path
from xml.sax.saxutils import escape

MODULE = "Cdsflow"
MACRO_URL = f"macro:///Standard.{MODULE}.Serve"
SPOOL_ENV = "CDSFLOW_LO_SPOOL"
OWNER_ENV = "CDSFLOW_LO_OWNER"  # /proc/<pid> of the cdsflow process that owns this LibreOffice

BASIC = """Sub Serve
  Dim spool As String, owner As String, f As String, idle As Long
  spool = Environ("CDSFLOW_LO_SPOOL")
  owner = Environ("CDSFLOW_LO_OWNER")
  Open spool & "/ready" For Output As #1
  Close #1
  Do While Not FileExists(spool & "/stop")
    If owner <> "" Then
      If Not FileExists(owner) Then Exit Do
    End If
    f = Dir(spool & "/in/*.docx")
    If f <> "" Then
      idle = 0
      Convert(spool, Left(f, Len(f) - 5))
    ElseIf idle < 250 Then
      idle = idle + 1
      Wait 20
    Else
      Wait 100
    End If
  Loop
  StarDesktop.terminate()
End Sub

Sub Convert(spool As String, id As String)
  Dim src As String, doc As Object
  src = spool & "/in/" & id & ".docx"
  On Error Goto Failed
  Dim load(1) As New com.sun.star.beans.PropertyValue
  load(0).Name = "Hidden" : load(0).Value = True
  load(1).Name = "ReadOnly" : load(1).Value = True
  doc = StarDesktop.loadComponentFromURL(ConvertToURL(src), "_blank", 0, load())
  Dim save(0) As New com.sun.star.beans.PropertyValue
  save(0).Name = "FilterName" : save(0).Value = "writer_pdf_Export"
  doc.storeToURL(ConvertToURL(spool & "/out/" & id & ".part"), save())
  doc.close(True)
  Name spool & "/out/" & id & ".part" As spool & "/out/" & id & ".pdf"
  Kill src
  Exit Sub
Failed:
  On Error Resume Next
  Open spool & "/out/" & id & ".err" For Output As #2
  Print #2, Error$
  Close #2
  Kill src
End Sub
"""

_HEAD = '<?xml version="1.0" encoding="UTF-8"?>\n'


def install(profile: Path) -> None:
    """Put the macro into the Standard library of an initialised profile (LibreOffice copies its own
    presets over `user/basic` on first start, so this runs after that)."""
    std = profile / "user" / "basic" / "Standard"
    std.mkdir(parents=True, exist_ok=True)
    (std / "script.xlb").write_text(
        _HEAD + '<!DOCTYPE library:library PUBLIC "-//OpenOffice.org//DTD OfficeDocument 1.0//EN" "library.dtd">\n'
        '<library:library xmlns:library="http://openoffice.org/2000/library" library:name="Standard" '
        'library:readonly="false" library:passwordprotected="false">\n'
        f' <library:element library:name="{MODULE}"/>\n</library:library>\n', encoding="utf-8")
    (std / f"{MODULE}.xba").write_text(
        _HEAD + '<!DOCTYPE script:module PUBLIC "-//OpenOffice.org//DTD OfficeDocument 1.0//EN" "module.dtd">\n'
        f'<script:module xmlns:script="http://openoffice.org/2000/script" script:name="{MODULE}" '
        f'script:language="StarBasic">{escape(BASIC, {chr(34): "&quot;"})}</script:module>\n', encoding="utf-8")
    for other in std.glob("Module*.xba"):
        other.unlink()
