"""What an uploaded file is, judged by its content, and the name it is kept under.

An upload's extension and declared type are whatever the sender chose: a `.pdf` may be an
HTML page, a `.png` a renamed program. So a file is accepted only when its first bytes are
those of the type its extension names, and it is served back with the type that extension
maps to here, never the one the sender declared. Its name is cleaned of anything that could
climb directories, hide its real extension (a right-to-left override) or trip a Windows
desktop that saves it (reserved device names, trailing dots).
"""

from __future__ import annotations

import re
import unicodedata
import zipfile
from pathlib import PurePosixPath
from typing import IO

CONTENT_TYPES = {
    "pdf": "application/pdf",
    "png": "image/png",
    "jpg": "image/jpeg",
    "jpeg": "image/jpeg",
    "gif": "image/gif",
    "txt": "text/plain; charset=utf-8",
    "csv": "text/csv; charset=utf-8",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    "odt": "application/vnd.oasis.opendocument.text",
}
"""The type each accepted extension is served with; anything else goes as a byte stream."""

UNKNOWN_CONTENT_TYPE = "application/octet-stream"

SIGNATURES: dict[str, tuple[bytes, ...]] = {
    "pdf": (b"%PDF-",),
    "png": (b"\x89PNG\r\n\x1a\n",),
    "jpg": (b"\xff\xd8\xff",),
    "jpeg": (b"\xff\xd8\xff",),
    "gif": (b"GIF87a", b"GIF89a"),
}
"""The magic bytes a file of each binary type starts with (the formats' own specifications)."""

OFFICE_PARTS = {"docx": "word/", "xlsx": "xl/", "pptx": "ppt/"}
"""An Office Open XML file is a zip holding `[Content_Types].xml` and its application's folder."""

ODT_MIMETYPE = b"application/vnd.oasis.opendocument.text"

TEXT_EXTENSIONS = {"txt", "csv"}
# What browsers sniff as markup (WHATWG MIME Sniffing, "identifying a resource with an
# unknown MIME type"): a text file that opens with one of these is a page, not text.
MARKUP_START = re.compile(
    rb"\s*<(?:!doctype\s+html|html|head|body|script|iframe|svg|\?xml|!--|style|title|"
    rb"table|div|a|b|p|br|h1|font)[\s>/]",
    re.IGNORECASE,
)
EXECUTABLE_STARTS = (b"MZ", b"\x7fELF", b"\xca\xfe\xba\xbe", b"\xcf\xfa\xed\xfe", b"#!")
SNIFF_BYTES = 8192

MAX_NAME_LENGTH = 150
WINDOWS_RESERVED = re.compile(r"^(con|prn|aux|nul|com[0-9]|lpt[0-9])(\..*)?$", re.IGNORECASE)
NAME_UNSAFE = re.compile(r'[<>:"/\\|?*]')


def upload_name_clean(name: str) -> str:
    """A file name safe to store, show and hand back as a download.

    Keeps the last path component only, drops control and format characters (NUL, new
    lines, bidirectional overrides, zero-width marks), replaces characters Windows refuses,
    strips leading and trailing dots and spaces, prefixes reserved device names, and keeps
    at most MAX_NAME_LENGTH characters with the extension intact.
    """
    name = unicodedata.normalize("NFC", name or "")
    name = "".join(c for c in name if unicodedata.category(c) not in {"Cc", "Cf", "Zl", "Zp"})
    name = re.split(r"[/\\]", name)[-1]
    name = NAME_UNSAFE.sub("_", name).strip(" .")
    if WINDOWS_RESERVED.match(name):
        name = f"_{name}"
    if len(name) > MAX_NAME_LENGTH:
        path = PurePosixPath(name)
        suffix = path.suffix if len(path.suffix) <= 16 else ""
        name = path.name[: MAX_NAME_LENGTH - len(suffix)].rstrip(" .") + suffix
    return name or "attachment"


def upload_extension(name: str) -> str:
    return PurePosixPath(upload_name_clean(name)).suffix.lower().lstrip(".")


def upload_content_matches(extension: str, file: IO[bytes]) -> bool:
    """Whether the file's content is of the type its extension names.

    Reads from the start and puts the file back where it was found, so it can still be
    saved whole.
    """
    position = file.tell()
    try:
        file.seek(0)
        head = file.read(SNIFF_BYTES)
        file.seek(0)
        if extension in SIGNATURES:
            return head.startswith(SIGNATURES[extension])
        if extension in TEXT_EXTENSIONS:
            return _is_plain_text(head)
        if extension in OFFICE_PARTS or extension == "odt":
            return _is_office_document(extension, file)
        # An extension an operator allowed that has no signature here: at least never a
        # program or a page under another name.
        return not head.startswith(EXECUTABLE_STARTS) and not MARKUP_START.match(head)
    finally:
        file.seek(position)


def attachment_content_type(name: str) -> str:
    """The type a stored file is served with, from its (checked) extension alone."""
    return CONTENT_TYPES.get(upload_extension(name), UNKNOWN_CONTENT_TYPE)


def _is_plain_text(head: bytes) -> bool:
    if b"\x00" in head or MARKUP_START.match(head.removeprefix(b"\xef\xbb\xbf")):
        return False
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as error:
        # A multi-byte character cut by the sniff window is still text.
        return error.start >= len(head) - 3 and len(head) == SNIFF_BYTES
    return True


def _is_office_document(extension: str, file: IO[bytes]) -> bool:
    if file.read(4) != b"PK\x03\x04":
        return False
    file.seek(0)
    try:
        with zipfile.ZipFile(file) as archive:
            names = archive.namelist()
            if extension == "odt":
                if "mimetype" not in names:
                    return False
                # A bounded read: the entry could be a zip bomb under the expected name.
                with archive.open("mimetype") as entry:
                    return entry.read(len(ODT_MIMETYPE) + 2).strip() == ODT_MIMETYPE
    except (zipfile.BadZipFile, KeyError, OSError, RuntimeError, EOFError):
        return False
    folder = OFFICE_PARTS[extension]
    return "[Content_Types].xml" in names and any(n.startswith(folder) for n in names)
