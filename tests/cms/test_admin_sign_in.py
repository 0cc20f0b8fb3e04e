"""Editors reach the Wagtail admin only through the site's sign-in, with their second factor."""

import pytest
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
from django.urls import reverse

from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_the_cms_password_form_is_not_a_way_around_the_second_factor(client):
    editor = UserFactory(is_staff=True, is_superuser=True, password="a-long-password-1")
    TOTP.activate(editor, generate_totp_secret())

    answer = client.post("/cms/login/", {"username": editor.email, "password": "a-long-password-1"})

    assert answer.status_code == 302
    assert answer["Location"].startswith(reverse("account_login"))
    assert client.get("/cms/").status_code == 302  # still signed out
    assert "_auth_user_id" not in client.session


def test_asking_for_the_cms_leads_to_the_site_sign_in(client):
    answer = client.get("/cms/")
    assert answer.status_code == 302
    assert answer["Location"].startswith(reverse("account_login"))
