"""SBOM uploads: CycloneDX and SPDX JSON are summarized; anything else is refused with a clear
message and nothing is stored."""

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from marketplace.community import services
from marketplace.community.models import Maintainer, Sbom
from marketplace.community.sbom import MAX_SBOM_BYTES, parse_sbom
from marketplace.errors import ServiceError

from .conftest import cyclonedx, spdx, upload


def test_cyclonedx_is_summarized_as_packages_and_licences():
    summary = parse_sbom(upload(cyclonedx()))
    assert (summary.format, summary.spec_version) == ("cyclonedx", "1.5")
    assert [p["name"] for p in summary.packages] == ["attrs", "paho-mqtt", "pymodbus", "pyyaml"]
    assert summary.packages[1] == {
        "name": "paho-mqtt",
        "version": "1.6.1",
        "license": "EPL-2.0",
        "purl": "pkg:pypi/paho-mqtt@1.6.1",
    }
    assert summary.licenses == [("MIT", 2), ("BSD-3-Clause", 1), ("EPL-2.0", 1)]


def test_spdx_is_summarized_with_declared_licence_when_none_concluded():
    summary = parse_sbom(upload(spdx()))
    assert (summary.format, summary.spec_version) == ("spdx", "SPDX-2.3")
    by_name = {p["name"]: p for p in summary.packages}
    assert by_name["github.com/eclipse/paho.mqtt.golang"]["license"] == "EPL-2.0"
    assert by_name["gopkg.in/yaml.v3"]["purl"] == "pkg:golang/gopkg.in/yaml.v3@3.0.1"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "The SBOM file is empty."),
        (b'{"bomFormat": "CycloneDX", ', "not well-formed JSON (line 1"),
        (b"\xff\xfe\x00", "not UTF-8"),
        (b"[1, 2]", "must be a JSON object"),
        (b'{"hello": "world"}', "not an SBOM we recognise"),
        (cyclonedx(specVersion="0.9"), "CycloneDX spec version 0.9 is not supported"),
        (cyclonedx(components={"a": 1}), "“components” must be a list"),
        (cyclonedx(components=[{"type": "library"}]), "CycloneDX component 1 has no name"),
        (spdx(spdxVersion="SPDX-1.2"), "SPDX version SPDX-1.2 is not supported"),
        (spdx(dataLicense=""), "lacks required fields: dataLicense"),
        (spdx(packages=[{"name": "x"}]), "SPDX package 1 has no SPDXID"),
        (spdx(packages=None), "needs a “packages” list"),
    ],
)
def test_malformed_sboms_are_refused_with_a_clear_message(content, message):
    with pytest.raises(ValidationError) as caught:
        parse_sbom(upload(content))
    assert message in caught.value.messages[0]


def test_an_oversized_sbom_is_refused_before_it_is_parsed():
    padding = b" " * (MAX_SBOM_BYTES + 1)
    with pytest.raises(ValidationError, match="larger than 2 MB"):
        parse_sbom(upload(b"{}" + padding))


def test_a_maintainer_uploads_an_sbom_and_a_bad_one_stores_nothing(contributor, version):
    Maintainer.objects.create(listing=version.listing, user=contributor)
    sbom = services.sbom_upload(actor=contributor, version=version, upload=upload(cyclonedx()))
    assert sbom.package_count == 4
    assert sbom.summary["licenses"][0] == ["MIT", 2]
    with pytest.raises(ServiceError, match="not well-formed JSON"):
        services.sbom_upload(actor=contributor, version=version, upload=upload(b"{nope"))
    sbom.refresh_from_db()  # the earlier SBOM is still there, untouched
    assert Sbom.objects.get(version=version).package_count == 4


def test_only_maintainers_upload_sboms(user, version):
    with pytest.raises(ServiceError, match="maintainers"):
        services.sbom_upload(actor=user, version=version, upload=upload(cyclonedx()))
    assert not Sbom.objects.exists()


def test_the_page_shows_the_refusal_and_then_the_summary(client, contributor, version):
    Maintainer.objects.create(listing=version.listing, user=contributor)
    client.force_login(contributor)
    url = reverse("community:sbom_upload", args=[version.listing.slug, version.pk])
    too_big = upload(b"{}" + b" " * MAX_SBOM_BYTES)
    response = client.post(url, {"document": too_big})
    assert response.status_code == 400
    assert "The SBOM is larger than 2 MB; upload a smaller file." in response.content.decode()
    assert not Sbom.objects.exists()

    response = client.post(url, {"document": upload(spdx())}, follow=True)
    page = response.content.decode()
    assert "SBOM for 2.3.0 saved: 2 packages." in page
    assert "gopkg.in/yaml.v3" in page
    assert "MIT AND Apache-2.0" in page


def test_anyone_downloads_the_sbom_as_uploaded(client, contributor, version):
    Maintainer.objects.create(listing=version.listing, user=contributor)
    document = upload(spdx())
    sbom = services.sbom_upload(actor=contributor, version=version, upload=document)
    url = reverse("community:sbom_download", args=[version.listing.slug, version.pk])
    page = client.get(reverse("community:component", args=[version.listing.slug]))
    assert url in page.content.decode()
    assert sbom.sha256 in page.content.decode()

    response = client.get(url)  # signed out

    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response["Content-Disposition"] == ('attachment; filename="modbuslink-2.3.0.spdx.json"')
    document.seek(0)
    assert b"".join(response.streaming_content) == document.read()
    version.listing.status = version.listing.Status.DRAFT
    version.listing.save(update_fields=["status"])
    assert client.get(url).status_code == 404  # only published components are public
