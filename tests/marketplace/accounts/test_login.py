"""Signing up, confirming and signing in, with allauth's protections on."""

import re

import pytest
from django.core import mail
from django.urls import reverse

from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db


def _login(client, email, password):
    return client.post(reverse("account_login"), {"login": email, "password": password})


def test_signup_sends_a_confirmation_and_the_link_signs_the_person_in(client):
    response = client.post(
        reverse("account_signup"),
        {"email": "New.Person@Example.com", "password1": PASSWORD, "password2": PASSWORD},
    )
    assert response.status_code == 302
    assert "_auth_user_id" not in client.session
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["new.person@example.com"]
    link = re.search(r"https?://[^/\s]+(/\S*confirm-email/\S+/)", mail.outbox[0].body).group(1)
    client.post(link)
    assert "_auth_user_id" in client.session


def test_unverified_email_cannot_sign_in(client):
    user = UserFactory(verified=False)
    response = _login(client, user.email, PASSWORD)
    assert "_auth_user_id" not in client.session
    assert response.status_code == 302
    assert response["Location"] == reverse("account_email_verification_sent")


def test_verified_email_signs_in(client, user):
    response = _login(client, user.email, PASSWORD)
    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(user.pk)


def test_login_is_rate_limited_after_repeated_failures(client, user):
    for _ in range(5):
        response = _login(client, user.email, "wrong-password")
        assert response.status_code == 200
        assert "_auth_user_id" not in client.session
    # The sixth attempt is refused even with the right password: the limit is per address.
    response = _login(client, user.email, PASSWORD)
    assert "_auth_user_id" not in client.session
    assert b"Too many failed login attempts" in response.content
    # Another address from the same client is not locked out by someone else's failures.
    other = UserFactory()
    _login(client, other.email, PASSWORD)
    assert client.session["_auth_user_id"] == str(other.pk)
