"""Uploads: refused by declared size before the body is read, checked by content rather
than by name, kept under a clean name, and served back only as a typed download through the
permission-checked view."""

import io
import socket
import uuid
import zipfile
from urllib.parse import urlsplit

import pytest
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from rest_framework.test import APIClient

from services.models import Attachment, Comment, FormField, ServiceRequest
from services.uploads import upload_content_matches, upload_name_clean
from tests.services.factories import CatalogItemFactory, FormFieldFactory, ServiceRequestFactory

PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"
PDF = b"%PDF-1.7\n1 0 obj\n"
HTML = b"<!DOCTYPE html><html><script>alert(document.cookie)</script></html>"
SVG = b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>'
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00" + b"\x00" * 50


def _zip(entries: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, content in entries.items():
            archive.writestr(name, content)
    return buffer.getvalue()


DOCX = _zip({"[Content_Types].xml": b"<Types/>", "word/document.xml": b"<w:document/>"})
ODT = _zip({"mimetype": b"application/vnd.oasis.opendocument.text", "content.xml": b"<x/>"})
PLAIN_ZIP = _zip({"notes.txt": b"hello"})


@pytest.fixture
def item_with_upload(it_department):
    item = CatalogItemFactory(slug="expense", service__department=it_department)
    FormFieldFactory(item=item, key="receipt", label="Receipt", kind=FormField.Kind.ATTACHMENT)
    return item


def _submit_page(client, person, item, upload):
    client.force_login(person)
    return client.post(
        reverse("catalog_item", args=[item.slug]),
        {"subject": "Trip", "submission_key": uuid.uuid4().hex, "field_receipt": upload},
    )


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("invoice.pdf", HTML),
        ("invoice.pdf", SVG),
        ("holiday.png", EXE),
        ("holiday.jpg", PNG),
        ("notes.txt", HTML),
        ("notes.txt", EXE),
        ("table.csv", b"\x00\x01binary"),
        ("report.docx", PLAIN_ZIP),
        ("report.xlsx", DOCX),
        ("letter.odt", DOCX),
        ("report.docx", HTML),
    ],
)
@pytest.mark.django_db
def test_a_file_whose_content_is_not_its_named_type_is_refused_with_a_form_error(
    client, employee, item_with_upload, name, content
):
    upload = SimpleUploadedFile(name, content, content_type="application/pdf")

    response = _submit_page(client, employee, item_with_upload, upload)

    assert response.status_code == 400
    assert "its content is of another type" in response.text
    assert ServiceRequest.objects.count() == Attachment.objects.count() == 0


@pytest.mark.parametrize(
    ("name", "content", "served_as"),
    [
        ("receipt.pdf", PDF, "application/pdf"),
        ("photo.png", PNG, "image/png"),
        ("photo.jpeg", b"\xff\xd8\xff\xe0\x00\x10JFIF", "image/jpeg"),
        ("diagram.gif", b"GIF89a\x01\x00", "image/gif"),
        ("notes.txt", "Grüße, <b> is just text here".encode(), "text/plain; charset=utf-8"),
        ("costs.csv", b"date,amount\n2025-01-01,12\n", "text/csv; charset=utf-8"),
        ("report.docx", DOCX, None),
        ("letter.odt", ODT, "application/vnd.oasis.opendocument.text"),
    ],
)
@pytest.mark.django_db
def test_a_file_of_its_named_type_is_kept_and_served_with_that_type(
    client, employee, item_with_upload, name, content, served_as
):
    upload = SimpleUploadedFile(name, content, content_type="text/html")

    response = _submit_page(client, employee, item_with_upload, upload)

    assert response.status_code == 302, response.text
    attachment = Attachment.objects.get()
    download = client.get(reverse("attachment_download", args=[attachment.pk]))
    assert b"".join(download.streaming_content) == content
    assert download["Content-Type"] != "text/html"
    if served_as:
        assert download["Content-Type"] == served_as


def test_the_content_check_leaves_the_file_where_it_was():
    upload = SimpleUploadedFile("receipt.pdf", PDF)
    upload.seek(3)

    assert upload_content_matches("pdf", upload)
    assert upload.tell() == 3


@pytest.mark.django_db
def test_the_api_refuses_a_disguised_file_with_400_and_saves_nothing(employee, item_with_upload):
    client = APIClient()
    client.force_login(employee)
    upload = SimpleUploadedFile("receipt.pdf", HTML, content_type="application/pdf")

    response = client.post(
        reverse("api:requests"),
        {"item": "expense", "subject": "Trip", "answers.receipt": upload},
        format="multipart",
    )

    assert response.status_code == 400
    assert "its content is of another type" in response.json()["answers"]["receipt"][0]
    assert ServiceRequest.objects.count() == Attachment.objects.count() == 0


@pytest.mark.django_db
def test_a_comment_with_a_disguised_file_is_refused_and_nothing_is_added(client, employee):
    service_request = ServiceRequestFactory(requester=employee)
    client.force_login(employee)
    upload = SimpleUploadedFile("screenshot.png", EXE, content_type="image/png")

    response = client.post(
        reverse("request_comment", args=[service_request.reference]),
        {"body": "see attached", "attachment": upload},
    )

    assert response.status_code == 400
    assert Comment.objects.count() == Attachment.objects.count() == 0


@pytest.mark.parametrize(
    ("sent", "kept"),
    [
        ("../../etc/passwd.txt", "passwd.txt"),
        ("..\\..\\windows\\win.ini.txt", "win.ini.txt"),
        ("report\x00.exe.pdf", "report.exe.pdf"),
        ("line\r\nbreak.pdf", "linebreak.pdf"),
        ("invoice\u202egnp.exe.pdf", "invoicegnp.exe.pdf"),
        ("zero\u200bwidth.pdf", "zerowidth.pdf"),
        (".htaccess.txt", "htaccess.txt"),
        ("...hidden.pdf", "hidden.pdf"),
        ("trailing.pdf. . ", "trailing.pdf"),
        ("CON.txt", "_CON.txt"),
        ("lpt1", "_lpt1"),
        ('a<b>c:"d|e?f*.pdf', "a_b_c__d_e_f_.pdf"),
        ("x" * 300 + ".pdf", "x" * 146 + ".pdf"),
        ("\x00\x01", "attachment"),
        ("", "attachment"),
    ],
)
def test_a_file_name_is_kept_without_what_could_harm(sent, kept):
    assert upload_name_clean(sent) == kept


@pytest.mark.django_db
def test_a_hostile_file_name_is_stored_clean_inside_the_request_folder(
    client, employee, item_with_upload, tmp_path, settings
):
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path)},
        },
    }
    upload = SimpleUploadedFile("placeholder.pdf", PDF, content_type="application/pdf")
    # The multipart parser keeps only the last path component; a name set on the file
    # object reaches the action whole, as it would from an e-mail or another entry point.
    upload.__dict__["_name"] = "../../\u202eevil\x00.pdf"

    response = _submit_page(client, employee, item_with_upload, upload)

    assert response.status_code == 302, response.text
    attachment = Attachment.objects.get()
    assert attachment.name == "evil.pdf"
    stored = tmp_path / attachment.file.name
    assert stored.resolve().is_relative_to(tmp_path / "attachments")
    assert stored.read_bytes() == PDF
    download = client.get(reverse("attachment_download", args=[attachment.pk]))
    assert download["Content-Disposition"] == 'attachment; filename="evil.pdf"'


@pytest.fixture
def planted_page(employee):
    """An attachment as an older version kept it: the uploader's declared type, an HTML
    body and a name that invites rendering."""
    return Attachment.objects.create(
        service_request=ServiceRequestFactory(requester=employee),
        uploaded_by=employee,
        file=ContentFile(SVG, name="map.svg"),
        name="map.svg",
        content_type="image/svg+xml",
        size=len(SVG),
    )


@pytest.mark.django_db
def test_a_stored_page_is_served_as_an_opaque_download_never_inline(client, employee, planted_page):
    client.force_login(employee)

    response = client.get(reverse("attachment_download", args=[planted_page.pk]))

    assert response.status_code == 200
    assert response["Content-Type"] == "application/octet-stream"
    assert response["Content-Disposition"].startswith("attachment;")
    assert response["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in response["Content-Security-Policy"]


@pytest.mark.django_db
def test_a_stored_file_is_not_reachable_by_its_media_path(client, employee, planted_page, settings):
    client.force_login(employee)
    path = planted_page.file.name

    for prefix in ("/media/", "/", settings.MEDIA_URL or "/media/"):
        response = client.get(f"{prefix}{path}")
        assert response.status_code == 404
        assert SVG not in response.content


@pytest.mark.django_db(transaction=True)
def test_a_raw_request_declaring_too_much_is_answered_413_before_its_body_is_sent(
    live_server, settings
):
    """Only the headers go out: a server that tried to read the declared body would wait
    for bytes that never come, and the socket's timeout would fail the test."""
    settings.REQUEST_BODY_MAX_BYTES = 1000
    address = urlsplit(live_server.url)
    head = (
        "POST /api/v1/requests/ HTTP/1.1\r\n"
        f"Host: {address.hostname}\r\n"
        "Content-Type: multipart/form-data; boundary=x\r\n"
        "Content-Length: 104857600\r\n"
        "\r\n"
    )

    with socket.create_connection((address.hostname, address.port), timeout=10) as connection:
        connection.sendall(head.encode())
        answer = b""
        while b"\r\n\r\n" not in answer:
            chunk = connection.recv(4096)
            if not chunk:
                break
            answer += chunk

    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    assert ServiceRequest.objects.count() == 0
