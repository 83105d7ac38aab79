"""Application attachments: checked by extension and content, stored under a random name.

A file is accepted only if its extension *and* its first bytes say the same thing: a PDF starts
with ``%PDF-``; DOCX and ODT are ZIP containers whose entries identify them (``word/`` and
``[Content_Types].xml`` for DOCX, a ``mimetype`` entry naming the OpenDocument text type for
ODT). Nothing is extracted, so a ZIP bomb costs no more than reading its directory.
"""

from __future__ import annotations

import io
import secrets
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from flask_babel import gettext as _

__all__ = [
    "ALLOWED_EXTENSIONS",
    "MAX_ATTACHMENT_BYTES",
    "AttachmentError",
    "CheckedAttachment",
    "check_attachment",
    "store_attachment",
    "attachment_path",
    "remove_attachment",
]

MAX_ATTACHMENT_BYTES = 5 * 1024 * 1024
ODT_MIMETYPE = b"application/vnd.oasis.opendocument.text"

#: extension → MIME type served on download.
ALLOWED_EXTENSIONS: dict[str, str] = {
    ".pdf": "application/pdf",
    ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ".odt": "application/vnd.oasis.opendocument.text",
}
SUBFOLDER = "applications"


class AttachmentError(ValueError):
    """The file cannot be accepted; the message is shown at the upload field."""


@dataclass(frozen=True, slots=True)
class CheckedAttachment:
    original_name: str
    extension: str
    content: bytes


def _display_name(filename: str) -> str:
    # Keep the name the applicant recognises, minus path parts and control characters.
    name = filename.replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if ch.isprintable() and ch not in '"<>|:*?')
    return name.strip()[:200] or "anhang"


def _is_docx(content: bytes) -> bool:
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            names = archive.namelist()
    except (zipfile.BadZipFile, ValueError):
        return False
    return "[Content_Types].xml" in names and any(n.startswith("word/") for n in names)


def _is_odt(content: bytes) -> bool:
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            info = archive.getinfo("mimetype")
            if info.file_size > 200:
                return False
            return archive.read(info).strip() == ODT_MIMETYPE
    except (zipfile.BadZipFile, KeyError, ValueError, RuntimeError):
        return False


def check_attachment(filename: str, stream: BinaryIO) -> CheckedAttachment:
    """Read and check an uploaded file; raises :class:`AttachmentError` with a German message.

    Reads at most one byte more than the limit, so an oversized file is refused without reading
    all of it.
    """
    extension = Path(filename or "").suffix.lower()
    if extension not in ALLOWED_EXTENSIONS:
        raise AttachmentError(
            _(
                "Bitte laden Sie eine PDF-, DOCX- oder ODT-Datei hoch (nicht „%(ext)s“).",
                ext=extension or "?",
            )
        )
    content = stream.read(MAX_ATTACHMENT_BYTES + 1)
    if len(content) > MAX_ATTACHMENT_BYTES:
        raise AttachmentError(
            _("Die Datei ist größer als 5 MB. Bitte laden Sie eine kleinere Datei hoch.")
        )
    if not content:
        raise AttachmentError(_("Die Datei ist leer."))
    if extension == ".pdf":
        valid = content.startswith(b"%PDF-")
    elif not content.startswith(b"PK\x03\x04"):
        valid = False
    elif extension == ".docx":
        valid = _is_docx(content)
    else:
        valid = _is_odt(content)
    if not valid:
        raise AttachmentError(
            _(
                "Der Inhalt der Datei passt nicht zur Endung %(ext)s. Bitte laden Sie ein echtes "
                "PDF-, DOCX- oder ODT-Dokument hoch.",
                ext=extension,
            )
        )
    return CheckedAttachment(_display_name(filename), extension, content)


def store_attachment(upload_folder: str | Path, attachment: CheckedAttachment) -> str:
    """Write the file under a random name; returns the path relative to ``upload_folder``."""
    folder = Path(upload_folder) / SUBFOLDER
    folder.mkdir(parents=True, exist_ok=True)
    name = secrets.token_hex(16) + attachment.extension
    target = folder / name
    with target.open("xb") as handle:  # never overwrite
        handle.write(attachment.content)
    target.chmod(0o600)
    return f"{SUBFOLDER}/{name}"


def attachment_path(upload_folder: str | Path, relative: str) -> Path | None:
    """The absolute path of a stored attachment, or ``None`` if it is missing or outside the folder."""
    if not relative:
        return None
    root = (Path(upload_folder) / SUBFOLDER).resolve()
    path = (Path(upload_folder) / relative).resolve()
    if path.parent != root or not path.is_file():
        return None
    return path


def remove_attachment(upload_folder: str | Path, relative: str) -> bool:
    """Delete a stored attachment; ``True`` if a file was removed."""
    path = attachment_path(upload_folder, relative)
    if path is None:
        return False
    path.unlink(missing_ok=True)
    return True
