"""Checks on uploaded toolbox files: type by extension *and* content, size, and unsafe content.

Standard library only, so the checks are tested without an app. A refused file raises
:class:`UploadRejected` with a stable ``code`` and the values its message names; the web layer
turns the code into a German or English sentence.
"""

from __future__ import annotations

import hashlib
import io
import re
import zipfile
from dataclasses import dataclass, field
from typing import Any
from xml.etree import ElementTree

__all__ = [
    "MAX_BYTES",
    "ALLOWED_TYPES",
    "INLINE_KINDS",
    "CheckedFile",
    "UploadRejected",
    "inspect_upload",
    "detect_kind",
    "safe_download_name",
]

#: Largest toolbox file (10 MB).
MAX_BYTES = 10 * 1024 * 1024

#: extension → (kind, MIME type served). Everything else is refused.
ALLOWED_TYPES: dict[str, tuple[str, str]] = {
    ".pdf": ("pdf", "application/pdf"),
    ".png": ("png", "image/png"),
    ".jpg": ("jpeg", "image/jpeg"),
    ".jpeg": ("jpeg", "image/jpeg"),
    ".svg": ("svg", "image/svg+xml"),
    ".docx": ("docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
    ".odt": ("odt", "application/vnd.oasis.opendocument.text"),
    ".txt": ("txt", "text/plain; charset=utf-8"),
}

#: Kinds a browser may show inline (raster images cannot run code); all others download.
INLINE_KINDS = frozenset({"png", "jpeg"})

_KIND_NAMES = {
    "pdf": "PDF",
    "png": "PNG",
    "jpeg": "JPEG",
    "gif": "GIF",
    "svg": "SVG",
    "docx": "DOCX",
    "odt": "ODT",
    "txt": "Text",
    "zip": "ZIP",
    "exe": "Windows-Programm (EXE)",
    "elf": "Linux-Programm (ELF)",
    "macho": "macOS-Programm",
    "script": "Skript",
    "html": "HTML",
    "unknown": "unbekannt",
}

ODT_MIMETYPE = b"application/vnd.oasis.opendocument.text"


class UploadRejected(ValueError):
    """The file is refused; ``code`` says why (``too_large``, ``extension``, ``content_mismatch``,
    ``unsafe_svg``, ``unsafe_pdf``, ``macros``, ``not_text``, ``empty``, ``broken``)."""

    def __init__(self, code: str, **params: Any) -> None:
        super().__init__(code)
        self.code = code
        self.params = params


@dataclass(frozen=True, slots=True)
class CheckedFile:
    """A file that passed the checks, with what the store needs."""

    extension: str
    kind: str
    mime_type: str
    size: int
    sha256: str
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def inline(self) -> bool:
        return self.kind in INLINE_KINDS


def detect_kind(data: bytes) -> str:
    """What the first bytes say the file is (``"unknown"`` when they say nothing).

    >>> detect_kind(b"MZ\\x90\\x00"), detect_kind(b"%PDF-1.7"), detect_kind(b"\\x89PNG\\r\\n\\x1a\\n")
    ('exe', 'pdf', 'png')
    """
    head = data[:1024]
    if head.startswith(b"MZ"):
        return "exe"
    if head.startswith(b"\x7fELF"):
        return "elf"
    if head[:4] in (
        b"\xcf\xfa\xed\xfe",
        b"\xce\xfa\xed\xfe",
        b"\xfe\xed\xfa\xcf",
        b"\xca\xfe\xba\xbe",
    ):
        return "macho"
    if head.startswith(b"%PDF-"):
        return "pdf"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if head.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if head.startswith((b"GIF87a", b"GIF89a")):
        return "gif"
    if head.startswith(b"PK\x03\x04"):
        return "zip"
    if head.startswith(b"#!"):
        return "script"
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if text.startswith((b"<!doctype html", b"<html")):
        return "html"
    if b"<svg" in text and (
        text.startswith(b"<?xml") or text.startswith(b"<svg") or text.startswith(b"<!--")
    ):
        return "svg"
    return "unknown"


def inspect_upload(filename: str, data: bytes, max_bytes: int = MAX_BYTES) -> CheckedFile:
    """Check an upload and describe it; raise :class:`UploadRejected` when it must not be kept.

    The extension must be allowed *and* the content must be of that type (an ``.exe`` renamed
    ``.pdf`` is refused); SVG must not contain scripts, event handlers, external references or a
    DOCTYPE; DOCX/ODT must be real office documents without macros; text must be UTF-8.

    Examples
    --------
    >>> inspect_upload("poster.png", b"\\x89PNG\\r\\n\\x1a\\n" + bytes(20)).mime_type
    'image/png'
    >>> try:
    ...     inspect_upload("flyer.pdf", b"MZ" + bytes(100))
    ... except UploadRejected as err:
    ...     print(err.code, err.params["detected"])
    content_mismatch exe
    """
    if not data:
        raise UploadRejected("empty")
    if len(data) > max_bytes:
        raise UploadRejected(
            "too_large",
            size_mb=round(len(data) / 1024 / 1024, 1),
            limit_mb=max_bytes // (1024 * 1024),
        )
    extension = _extension(filename)
    if extension not in ALLOWED_TYPES:
        raise UploadRejected(
            "extension", extension=extension or "–", allowed=", ".join(sorted(ALLOWED_TYPES))
        )
    kind, mime_type = ALLOWED_TYPES[extension]
    detected = detect_kind(data)
    notes: list[str] = []

    if kind in ("pdf", "png", "jpeg") and detected != kind:
        raise UploadRejected(
            "content_mismatch", expected=kind, detected=detected, extension=extension
        )
    if kind == "pdf":
        _check_pdf(data)
    elif kind == "svg":
        _check_svg(data, detected)
    elif kind in ("docx", "odt"):
        if detected != "zip":
            raise UploadRejected(
                "content_mismatch", expected=kind, detected=detected, extension=extension
            )
        _check_office(data, kind, extension)
    elif kind == "txt":
        _check_text(data, detected, extension)

    return CheckedFile(
        extension=extension,
        kind=kind,
        mime_type=mime_type,
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        notes=tuple(notes),
    )


def kind_name(kind: str) -> str:
    """A readable name of a detected kind (for messages)."""
    return _KIND_NAMES.get(kind, kind)


def _extension(filename: str) -> str:
    name = (filename or "").strip().lower().replace("\\", "/").rsplit("/", 1)[-1]
    return "." + name.rsplit(".", 1)[1] if "." in name else ""


def _check_pdf(data: bytes) -> None:
    # Viewers run embedded JavaScript and launch actions; a marketing flyer needs neither.
    # Only long names: short ones such as /JS occur by chance in compressed streams.
    if re.search(rb"/(JavaScript|Launch)\b", data):
        raise UploadRejected("unsafe_pdf")


_SVG_FORBIDDEN_ELEMENTS = {
    "script",
    "foreignobject",
    "iframe",
    "embed",
    "object",
    "handler",
    "listener",
    "animate",
    "set",
}
_HREF_ATTRIBUTES = {"href"}
_SAFE_DATA_URI = re.compile(r"^data:image/(png|jpeg|gif);base64,[A-Za-z0-9+/=\s]*$")


def _local(name: str) -> str:
    return name.rsplit("}", 1)[-1].lower()


def _check_svg(data: bytes, detected: str) -> None:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise UploadRejected("not_text", extension=".svg") from err
    if detected not in ("svg", "unknown"):
        raise UploadRejected(
            "content_mismatch", expected="svg", detected=detected, extension=".svg"
        )
    lowered = text.lower()
    # No DOCTYPE: entities can expand without bound or read local files in other parsers.
    if "<!doctype" in lowered or "<!entity" in lowered:
        raise UploadRejected("unsafe_svg", reason="doctype")
    if "<?xml-stylesheet" in lowered:
        raise UploadRejected("unsafe_svg", reason="stylesheet")
    try:
        root = ElementTree.fromstring(text)
    except ElementTree.ParseError as err:
        raise UploadRejected("broken", expected="svg") from err
    if _local(root.tag) != "svg":
        raise UploadRejected(
            "content_mismatch", expected="svg", detected="unknown", extension=".svg"
        )
    for element in root.iter():
        tag = _local(element.tag) if isinstance(element.tag, str) else ""
        if tag in _SVG_FORBIDDEN_ELEMENTS:
            raise UploadRejected("unsafe_svg", reason=tag)
        if tag == "style" and _unsafe_css(element.text or ""):
            raise UploadRejected("unsafe_svg", reason="style")
        for name, value in element.attrib.items():
            attribute = _local(name)
            compact = re.sub(r"\s+", "", value).lower()
            if attribute.startswith("on"):
                raise UploadRejected("unsafe_svg", reason=attribute)
            if "javascript:" in compact or "vbscript:" in compact:
                raise UploadRejected("unsafe_svg", reason="javascript")
            if attribute in _HREF_ATTRIBUTES and not (
                value.startswith("#") or _SAFE_DATA_URI.match(value)
            ):
                raise UploadRejected("unsafe_svg", reason="external")
            if attribute == "style" and _unsafe_css(value):
                raise UploadRejected("unsafe_svg", reason="style")


def _unsafe_css(css: str) -> bool:
    compact = re.sub(r"\s+", "", css).lower()
    if "@import" in compact or "expression(" in compact:
        return True
    return any(
        not url.strip("'\"").startswith("#") for url in re.findall(r"url\(([^)]*)\)", compact)
    )


def _check_office(data: bytes, kind: str, extension: str) -> None:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        names = archive.namelist()
    except (zipfile.BadZipFile, ValueError) as err:
        raise UploadRejected("broken", expected=kind) from err
    lowered = [n.lower() for n in names]
    if kind == "docx":
        if "[content_types].xml" not in lowered or not any(n.startswith("word/") for n in lowered):
            raise UploadRejected(
                "content_mismatch", expected=kind, detected="zip", extension=extension
            )
        if any(n.endswith("vbaproject.bin") for n in lowered):
            raise UploadRejected("macros")
    else:
        first = archive.infolist()[0] if names else None
        # ODF puts an uncompressed "mimetype" member first; a few bytes, safe to read.
        if first is None or first.filename != "mimetype" or first.file_size > 100:
            raise UploadRejected(
                "content_mismatch", expected=kind, detected="zip", extension=extension
            )
        if archive.read(first).strip() != ODT_MIMETYPE:
            raise UploadRejected(
                "content_mismatch", expected=kind, detected="zip", extension=extension
            )
        if any(n.startswith(("basic/", "scripts/")) for n in lowered):
            raise UploadRejected("macros")


def _check_text(data: bytes, detected: str, extension: str) -> None:
    if detected not in ("unknown",):
        raise UploadRejected(
            "content_mismatch", expected="txt", detected=detected, extension=extension
        )
    if b"\x00" in data:
        raise UploadRejected("not_text", extension=extension)
    try:
        data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise UploadRejected("not_text", extension=extension) from err


def safe_download_name(title: str, extension: str) -> str:
    """A download file name from the title: letters, digits and dashes only, plus the extension.

    >>> safe_download_name("Plakat: Pflege in Rheine!", ".svg")
    'plakat-pflege-in-rheine.svg'
    """
    translit = str.maketrans(
        {"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss", "Ä": "ae", "Ö": "oe", "Ü": "ue"}
    )
    base = re.sub(r"[^a-z0-9]+", "-", title.translate(translit).lower()).strip("-")[:60] or "datei"
    return base + extension
