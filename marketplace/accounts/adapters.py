from allauth.account.adapter import DefaultAccountAdapter


class AccountAdapter(DefaultAccountAdapter):
    """allauth's adapter; email is always normalized to lower case before it is stored."""

    def clean_email(self, email: str) -> str:
        return super().clean_email(email).strip().lower()
