"""Photos kept where every replica reads them: a file sent through one service instance is
served by another (each instance with a disk of its own), by default in production."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from dropdesk.attachment.models import Attachment, AttachmentBlob
from dropdesk.config import Settings
from dropdesk.main import create_app
from tests.api.conftest import auth, open_session
from tests.api.test_attachment import JPEG, png, upload

STRONG = {"secret_key": "s" * 40, "internal_token": "i" * 40, "rasa_token": "r" * 40}


@pytest.fixture
def settings(settings: Settings, tmp_path: Path) -> Settings:
    """Replica A: the production profile's defaults (attachment_store unset), its own disk."""
    return settings.model_copy(update={
        "env": "production", **STRONG, "attachment_store": "",
        "upload_dir": tmp_path / "replica-a", "max_upload_bytes": 200_000,
    })  # fmt: skip


def _replica(settings: Settings, disk: Path, **changes: object) -> Iterator[TestClient]:
    other = settings.model_copy(update={"upload_dir": disk, **changes})
    with TestClient(create_app(other)) as replica:
        yield replica


@pytest.fixture
def replica_b(settings: Settings, tmp_path: Path) -> Iterator[TestClient]:
    yield from _replica(settings, tmp_path / "replica-b")


def test_a_photo_sent_through_one_replica_is_served_by_another(
    client: TestClient, replica_b: TestClient, settings: Settings, db_session: Session
) -> None:
    assert settings.attachment_backend()[0] == "database"
    sid = open_session(client, settings)
    image = png(5, 7, (200, 10, 10))
    sent = upload(client, settings, sid, image)
    assert sent.status_code == 201, sent.text
    url = sent.json()["attachment"]
    fetched = replica_b.get(url, headers=auth(settings))
    assert fetched.status_code == 200 and fetched.content == image
    assert fetched.headers["content-type"] == "image/png"
    assert fetched.headers["x-content-type-options"] == "nosniff"
    assert "sandbox" in fetched.headers["content-security-policy"]
    # B's transcript has it too, and neither replica wrote to its disk.
    history = replica_b.get(f"/api/v1/sessions/{sid}/messages", headers=auth(settings)).json()
    assert history[-1]["attachment"] == url
    assert not settings.upload_dir.exists()
    assert not (settings.upload_dir.parent / "replica-b").exists()
    # The bytes are in the database, once.
    blobs = db_session.scalars(select(AttachmentBlob.data)).all()
    assert [bytes(b) for b in blobs] == [image]
    # Owner only, on every replica.
    assert replica_b.get(url).status_code == 401


def test_each_replica_serves_what_the_other_stored(
    client: TestClient, replica_b: TestClient, settings: Settings
) -> None:
    sid = open_session(client, settings)
    first = upload(client, settings, sid, png()).json()["attachment"]
    second = upload(replica_b, settings, sid, JPEG, "slip.jpg").json()["attachment"]
    assert client.get(second, headers=auth(settings)).content == JPEG
    assert replica_b.get(first, headers=auth(settings)).content == png()


def test_on_separate_disks_files_would_not_be_shared(
    client: TestClient, settings: Settings, tmp_path: Path
) -> None:
    """What the database store fixes: with folders of their own, B cannot serve A's photo."""
    on_disk = {"attachment_store": "file"}
    for a in _replica(settings, settings.upload_dir, **on_disk):
        sid = open_session(a, settings)
        url = upload(a, settings, sid, png()).json()["attachment"]
        for b in _replica(settings, tmp_path / "replica-b", **on_disk):
            assert b.get(url, headers=auth(settings)).status_code == 404
        assert a.get(url, headers=auth(settings)).content == png()


def test_photos_kept_in_a_folder_stay_readable_after_the_switch(
    client: TestClient, settings: Settings, db_session: Session
) -> None:
    sid = open_session(client, settings)
    for local in _replica(settings, settings.upload_dir, attachment_store="file"):
        old = upload(local, settings, sid, png()).json()["attachment"]
    new = upload(client, settings, sid, JPEG, "b.jpg").json()["attachment"]
    assert client.get(old, headers=auth(settings)).content == png()
    assert client.get(new, headers=auth(settings)).content == JPEG
    keys = db_session.scalars(select(Attachment.storage_key).order_by(Attachment.id)).all()
    assert [k.startswith("db:") for k in keys] == [False, True]

