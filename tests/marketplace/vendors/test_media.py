"""Screenshots: checked by their content, whatever their name says."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from .conftest import bomb_png_upload, png_upload

pytestmark = pytest.mark.django_db


@pytest.fixture
def url(draft):
    return reverse("vendors:listing_media", args=[draft.slug])


def test_the_upload_form_sends_files(client, vendor_owner, url):
    client.force_login(vendor_owner)
    assert 'enctype="multipart/form-data"' in client.get(url).content.decode()


def test_a_real_png_is_accepted_and_shown(client, vendor_owner, draft, url):
    client.force_login(vendor_owner)
    response = client.post(url, {"image": png_upload(), "caption": "Line 3 dashboard"}, follow=True)
    image = draft.images.get()
    assert (image.width, image.height) == (64, 48)
    page = response.content.decode()
    assert "Screenshot added." in page
    assert image.image.url in page
    assert "Line 3 dashboard" in page


@pytest.mark.parametrize(
    ("upload", "message"),
    [
        (
            SimpleUploadedFile("shot.png", b"just some text, not pixels", "image/png"),
            "This file is not an image we can read (PNG, JPEG or WebP).",
        ),
        (
            SimpleUploadedFile("big.png", b"\0" * (6 * 1024 * 1024), "image/png"),
            "The image is 6.0 MB; the limit is 5 MB.",
        ),
        (bomb_png_upload(), "The image declares far more pixels than a screenshot has"),
    ],
    ids=["text-named-png", "over-5-mb", "decompression-bomb"],
)
def test_bad_uploads_are_refused_with_a_clear_message(
    client, vendor_owner, draft, url, upload, message
):
    client.force_login(vendor_owner)
    response = client.post(url, {"image": upload})
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not draft.images.exists()


def test_remove_a_screenshot(client, vendor_owner, draft, url):
    client.force_login(vendor_owner)
    client.post(url, {"image": png_upload()})
    image = draft.images.get()
    response = client.post(
        reverse("vendors:listing_image_remove", args=[draft.slug, image.pk]), follow=True
    )
    assert "Screenshot removed." in response.content.decode()
    assert not draft.images.exists()
