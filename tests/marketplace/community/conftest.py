import json

import pytest
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import translation

from marketplace.catalog.models import Listing
from tests.factories import ListingFactory, ListingVersionFactory, UserFactory


@pytest.fixture(autouse=True)
def _english():
    with translation.override(settings.LANGUAGE_CODE):
        yield


@pytest.fixture
def staff(db):
    """A moderator (staff must have an authenticator, or pages send them to set one up)."""
    user = UserFactory(is_staff=True, first_name="Mo", last_name="Derator")
    TOTP.activate(user, generate_totp_secret())
    return user


@pytest.fixture
def contributor(db):
    return UserFactory(first_name="Ada", last_name="Lovelace")


@pytest.fixture
def component(db) -> Listing:
    return ListingFactory(
        kind=Listing.Kind.COMPONENT,
        name="ModbusLink",
        slug="modbuslink",
        tagline="Modbus TCP poller that publishes to MQTT",
        description="Polls registers.",
        license="Apache-2.0",
        repository_url="https://github.com/openfab/modbuslink",
    )


@pytest.fixture
def version(component):
    return ListingVersionFactory(listing=component, version="2.3.0")


def cyclonedx(**overrides) -> dict:
    document = {
        "bomFormat": "CycloneDX",
        "specVersion": "1.5",
        "version": 1,
        "components": [
            {
                "type": "library",
                "name": "paho-mqtt",
                "version": "1.6.1",
                "purl": "pkg:pypi/paho-mqtt@1.6.1",
                "licenses": [{"license": {"id": "EPL-2.0"}}],
            },
            {
                "type": "library",
                "name": "pymodbus",
                "version": "3.6.4",
                "licenses": [{"license": {"id": "BSD-3-Clause"}}],
            },
            {
                "type": "library",
                "name": "pyyaml",
                "version": "6.0.1",
                "licenses": [{"expression": "MIT"}],
            },
            {"type": "library", "name": "attrs", "version": "23.2.0",
             "licenses": [{"license": {"id": "MIT"}}]},
        ],
    }  # fmt: skip
    document.update(overrides)
    return document


def spdx(**overrides) -> dict:
    document = {
        "spdxVersion": "SPDX-2.3",
        "dataLicense": "CC0-1.0",
        "SPDXID": "SPDXRef-DOCUMENT",
        "name": "modbuslink-2.3.0",
        "documentNamespace": "https://example.com/spdx/modbuslink-2.3.0",
        "packages": [
            {
                "SPDXID": "SPDXRef-Package-go-yaml",
                "name": "gopkg.in/yaml.v3",
                "versionInfo": "3.0.1",
                "licenseConcluded": "MIT AND Apache-2.0",
                "externalRefs": [
                    {
                        "referenceCategory": "PACKAGE-MANAGER",
                        "referenceType": "purl",
                        "referenceLocator": "pkg:golang/gopkg.in/yaml.v3@3.0.1",
                    }
                ],
            },
            {
                "SPDXID": "SPDXRef-Package-paho",
                "name": "github.com/eclipse/paho.mqtt.golang",
                "versionInfo": "1.4.3",
                "licenseConcluded": "NOASSERTION",
                "licenseDeclared": "EPL-2.0",
            },
        ],
    }
    document.update(overrides)
    return document


def upload(document, name="sbom.json") -> SimpleUploadedFile:
    data = document if isinstance(document, bytes) else json.dumps(document).encode()
    return SimpleUploadedFile(name, data, content_type="application/json")
