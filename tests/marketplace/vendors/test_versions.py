"""Versions: semantic version numbers, release dates, changelogs and checksums."""

import datetime
import hashlib

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db

SHA = hashlib.sha256(b"lumen-count-1.4.2.tar.gz").hexdigest()


@pytest.fixture
def url(draft):
    return reverse("vendors:listing_versions", args=[draft.slug])


def test_add_a_version(client, vendor_owner, draft, url):
    client.force_login(vendor_owner)
    response = client.post(
        url,
        {
            "version": "1.4.2",
            "released_on": "2026-03-01",
            "changelog": "- **Faster** start-up",
            "artifact_sha256": f"  {SHA.upper()} ",
        },
        follow=True,
    )
    version = draft.versions.get()
    assert version.version == "1.4.2"
    assert version.released_on == datetime.date(2026, 3, 1)
    assert version.artifact_sha256 == SHA
    page = response.content.decode()
    assert "Version 1.4.2 added." in page
    assert "<strong>Faster</strong>" in page  # the changelog, rendered


def test_a_bad_version_number_and_checksum_are_explained(client, vendor_owner, draft, url):
    client.force_login(vendor_owner)
    response = client.post(url, {"version": "v1.4", "artifact_sha256": "abc123"})
    page = response.content.decode()
    assert response.status_code == 200
    assert "v1.4 is not a semantic version such as 1.4.2 or 2.0.0-rc.1." in page
    assert "64 lower-case hex digits" in page
    assert not draft.versions.exists()


def test_the_same_version_twice_is_refused(client, vendor_owner, draft, url):
    client.force_login(vendor_owner)
    client.post(url, {"version": "1.0.0"})
    response = client.post(url, {"version": "1.0.0"})
    assert "Version 1.0.0 already exists." in response.content.decode()
    assert draft.versions.count() == 1
