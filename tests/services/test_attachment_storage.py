"""Attachments live in the configured storage backend and are served only through the
permission-checked view, streamed from that backend.

The file system here (the default outside tests); the S3-compatible backend is configured
by the same settings and needs no network to be set up, only to be used.
"""

import runpy
from pathlib import Path

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import storages
from django.test import override_settings
from django.urls import reverse
from storages.backends.s3 import S3Storage

from services.models import Attachment
from tests.services.factories import ServiceRequestFactory

SETTINGS = Path(__file__).resolve().parents[2] / "esm" / "settings.py"
STORAGE_VARIABLES = [
    "STORAGE_S3_BUCKET",
    "STORAGE_S3_ENDPOINT_URL",
    "STORAGE_S3_ACCESS_KEY_ID",
    "STORAGE_S3_SECRET_ACCESS_KEY",
]


@pytest.fixture
def file_system_storage(tmp_path):
    with override_settings(
        STORAGES={
            "default": {
                "BACKEND": "django.core.files.storage.FileSystemStorage",
                "OPTIONS": {"location": str(tmp_path)},
            },
            "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
        }
    ):
        yield tmp_path


@pytest.mark.django_db
def test_an_attachment_is_stored_in_the_backend_and_streamed_from_it(
    client, employee, outsider, file_system_storage
):
    service_request = ServiceRequestFactory(requester=employee)
    attachment = Attachment.objects.create(
        service_request=service_request,
        uploaded_by=employee,
        file=ContentFile(b"%PDF-1.7 contract", name="contract.pdf"),
        name="contract.pdf",
        content_type="application/pdf",
        size=17,
    )
    url = reverse("attachment_download", args=[attachment.pk])

    stored = file_system_storage / "attachments" / str(service_request.pk) / "contract.pdf"
    assert stored.read_bytes() == b"%PDF-1.7 contract"
    client.force_login(employee)
    response = client.get(url)
    assert response.streaming
    assert b"".join(response.streaming_content) == b"%PDF-1.7 contract"
    client.force_login(outsider)
    assert client.get(url).status_code == 404


def _settings(monkeypatch, **environment):
    for name in STORAGE_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("DEBUG", "1")
    return runpy.run_path(str(SETTINGS))


def test_without_a_bucket_files_stay_on_the_local_file_system(monkeypatch):
    backend = _settings(monkeypatch)["STORAGES"]["default"]["BACKEND"]

    assert backend == "django.core.files.storage.FileSystemStorage"


def test_a_bucket_puts_files_in_private_s3_compatible_storage(monkeypatch):
    configured = _settings(
        monkeypatch,
        STORAGE_S3_BUCKET="esm-attachments",
        STORAGE_S3_ENDPOINT_URL="https://objects.example.com",
        STORAGE_S3_ACCESS_KEY_ID="key",
        STORAGE_S3_SECRET_ACCESS_KEY="secret",
    )["STORAGES"]

    with override_settings(STORAGES=configured):
        storage = storages.create_storage(configured["default"])
    assert isinstance(storage, S3Storage)
    assert storage.bucket_name == "esm-attachments"
    assert storage.endpoint_url == "https://objects.example.com"
    assert storage.default_acl == "private"
    # Two files of one name on a request are both kept, as on the file system.
    assert storage.file_overwrite is False
