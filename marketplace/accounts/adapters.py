from allauth.account.adapter import DefaultAccountAdapter
from django.urls import reverse


class AccountAdapter(DefaultAccountAdapter):
    """allauth's adapter: lower-case email addresses, and language-aware redirects."""

    def clean_email(self, email: str) -> str:
        return super().clean_email(email).strip().lower()

    def get_logout_redirect_url(self, request) -> str:
        # The home page in the language the person was reading (/ or /zh-hans/).
        return reverse("wagtail_serve", args=[""])
