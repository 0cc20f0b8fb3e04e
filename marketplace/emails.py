"""Plain-text emails: a subject and a message template, rendered in the reader's language and
sent, and the Celery options every email task shares (accounts, catalog, community, billing).
"""

from collections.abc import Iterable

from celery import shared_task
from django.conf import settings
from django.core.mail import send_mail
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation

# A task that sends an email: tried again, later and later, while the mail server cannot be
# reached.
email_task = shared_task(
    autoretry_for=(OSError,),
    retry_backoff=True,
    retry_kwargs={"max_retries": 5},
    ignore_result=True,
)


def email_send(
    template: str,
    context: dict,
    recipients: Iterable[str],
    *,
    language: str | None = None,
    link: tuple[str, list] | None = None,
) -> None:
    """Render `<template>_subject.txt` and `<template>_message.txt` in `language` (the site's
    by default) and send them to each of `recipients` once; to nobody, nothing is sent.

    The templates get `base_url` and, with `link` (a URL name and its arguments), `path`: the
    page's address in that language.
    """
    recipients = sorted(set(recipients))
    if not recipients:
        return
    context = {**context, "base_url": settings.WAGTAILADMIN_BASE_URL.rstrip("/")}
    with translation.override(language or settings.LANGUAGE_CODE):
        if link is not None:
            context["path"] = reverse(link[0], args=link[1])
        subject = render_to_string(f"{template}_subject.txt", context).strip()
        body = render_to_string(f"{template}_message.txt", context)
    send_mail(subject, body, None, recipients)
