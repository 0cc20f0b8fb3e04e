"""Production: everything from the environment, nothing insecure by default.

Required: DJANGO_SECRET_KEY, DJANGO_ALLOWED_HOSTS. Usually also DATABASE_URL, CACHE_URL,
CELERY_BROKER_URL, EMAIL_URL and the STRIPE_* keys (docs/operations.md).
"""

import sys

from .base import *  # noqa: F403
from .base import SECRET_KEY, env

if not SECRET_KEY:
    sys.exit(
        "DJANGO_SECRET_KEY is not set. Production settings refuse to start without it: "
        "set DJANGO_SECRET_KEY to a long random value (for example the output of "
        "`python -c 'import secrets; print(secrets.token_urlsafe(64))'`)."
    )
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=[])
if not ALLOWED_HOSTS:
    sys.exit(
        "DJANGO_ALLOWED_HOSTS is not set. List the host names this site answers to, "
        "separated by commas (for example DJANGO_ALLOWED_HOSTS=precis.example.com)."
    )

# Stripe itself unless told otherwise; no key has a default here. Without STRIPE_SECRET_KEY no
# card is charged (payments fail with a clear error), and without STRIPE_WEBHOOK_SECRET every
# webhook is refused.
STRIPE_SECRET_KEY = env("STRIPE_SECRET_KEY", default="")
STRIPE_PUBLISHABLE_KEY = env("STRIPE_PUBLISHABLE_KEY", default="")
STRIPE_WEBHOOK_SECRET = env("STRIPE_WEBHOOK_SECRET", default="")
STRIPE_API_BASE = env("STRIPE_API_BASE", default="")

PRECIS_ENVIRONMENT = "production"
DEBUG = False
vars().update(env.email_url("EMAIL_URL", default="smtp://localhost:25"))

SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=True)
SECURE_HSTS_SECONDS = env.int("DJANGO_SECURE_HSTS_SECONDS", default=60 * 60 * 24 * 365)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = env.bool("DJANGO_SECURE_HSTS_PRELOAD", default=True)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
CSRF_TRUSTED_ORIGINS = env.list(
    "DJANGO_CSRF_TRUSTED_ORIGINS", default=[f"https://{host}" for host in ALLOWED_HOSTS]
)
WAGTAILADMIN_BASE_URL = env("PRECIS_BASE_URL", default=f"https://{ALLOWED_HOSTS[0]}")

STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
