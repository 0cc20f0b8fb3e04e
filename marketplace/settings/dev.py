"""The embedded default: `make run` on a laptop with nothing but Python.

SQLite, eager Celery, email printed to the console, a file cache. Any environment variable from
docs/operations.md still overrides these defaults.
"""

from .base import *  # noqa: F403
from .base import env

DEBUG = env.bool("DJANGO_DEBUG", default=True)
SECRET_KEY = env("DJANGO_SECRET_KEY", default="dev-only-insecure-key-precis-0123456789-abcdefghij")
ACCOUNT_DEFAULT_HTTP_PROTOCOL = "http"
# Demo staff and vendor owners must use MFA like everyone else; on this development server they
# may type this code instead of one from an authenticator app. allauth refuses it unless DEBUG.
MFA_TOTP_INSECURE_BYPASS_CODE = env("PRECIS_DEV_MFA_CODE", default="000000")
# runserver serves static files from the finders through WhiteNoise; no collectstatic needed.
STATIC_ROOT = None
