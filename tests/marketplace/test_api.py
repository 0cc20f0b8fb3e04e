"""The API's auth, error format and OpenAPI schema."""

import subprocess
import sys

import pytest
import yaml
from django.conf import settings
from django.urls import reverse

from marketplace.accounts.models import Role
from tests.factories import PASSWORD, MembershipFactory, OrganizationFactory, UserFactory

pytestmark = pytest.mark.django_db


def _token(client, email, password=PASSWORD):
    return client.post(
        reverse("api:v1:auth-token"),
        {"email": email, "password": password},
        content_type="application/json",
    )


def test_token_from_email_and_password_authenticates_api_calls(client, user):
    response = _token(client, user.email.upper())
    assert response.status_code == 200
    token = response.json()["token"]
    me = client.get(reverse("api:v1:me"), HTTP_AUTHORIZATION=f"Token {token}")
    assert me.status_code == 200
    assert me.json()["email"] == user.email
    assert _token(client, user.email).json()["token"] == token


def test_wrong_password_unverified_email_and_mfa_accounts_get_no_token(client):
    user = UserFactory()
    assert _token(client, user.email, "nope").json()["error"]["code"] == "invalid_credentials"
    unverified = UserFactory(verified=False)
    response = _token(client, unverified.email)
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "email_unverified"
    vendor_owner = MembershipFactory(
        organization=OrganizationFactory(is_vendor=True), role=Role.OWNER
    ).user
    assert _token(client, vendor_owner.email).json()["error"]["code"] == "mfa_required"


def test_malformed_token_request_names_the_fields(client):
    response = client.post(reverse("api:v1:auth-token"), {"email": "not-an-email"})
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid"
    assert set(error["fields"]) == {"email", "password"}


def test_token_requests_are_throttled(client, user):
    statuses = [_token(client, user.email, "wrong").status_code for _ in range(11)]
    assert statuses[-1] == 429


def test_api_requires_authentication(client):
    response = client.get(reverse("api:v1:me"))
    assert response.status_code in (401, 403)
    assert response.json()["error"]["code"] == "not_authenticated"


def test_schema_describes_precis_only_and_generates_without_warnings(tmp_path):
    out = tmp_path / "schema.yaml"
    result = subprocess.run(
        [
            sys.executable,
            "manage.py",
            "spectacular",
            "--validate",
            "--fail-on-warn",
            "--file",
            str(out),
        ],
        capture_output=True,
        text=True,
        cwd=settings.BASE_DIR,
        env={"DJANGO_SETTINGS_MODULE": "marketplace.settings.test", "PATH": ""},
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "Warning" not in result.stderr
    schema = yaml.safe_load(out.read_text())
    paths = set(schema["paths"])
    assert "/api/v1/auth/token/" in paths
    assert all(path.startswith("/api/v1/") for path in paths)


def test_schema_and_docs_are_served_without_a_cdn(client):
    assert client.get("/api/schema/").status_code == 200
    docs = client.get("/api/docs/").content.decode()
    assert "cdn" not in docs.lower()
    assert "/static/drf_spectacular_sidecar/" in docs
