"""Settings for the test suite (pytest-django)."""

import os
import tempfile
from pathlib import Path

from .base import *  # noqa: F403
from .base import DATABASES, VAR_DIR, env

# Test runs on one machine must not share a database file or a broker folder.
_RUN = os.getpid()

SECRET_KEY = "test-only-insecure-key-precis-0123456789-abcdefghijklmnop"  # noqa: S105
PRECIS_ENVIRONMENT = "test"
DEBUG = False
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
ACCOUNT_DEFAULT_HTTP_PROTOCOL = "http"
CACHES = {"default": env.cache("CACHE_URL", default="locmemcache://precis-tests")}
MEDIA_ROOT = Path(tempfile.mkdtemp(prefix="precis-media-"))

# Tests enqueue eagerly unless a test starts a real worker (tests/test_celery_worker.py).
CELERY_TASK_ALWAYS_EAGER = True
CELERY_BROKER_URL = env("CELERY_BROKER_URL", default="")
if not CELERY_BROKER_URL:
    # A broker that needs no server: a real worker process still consumes from it.
    _broker_dir = env("PRECIS_TEST_BROKER_DIR", default=str(VAR_DIR / f"test-broker-{_RUN}"))
    CELERY_BROKER_URL = "filesystem://"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": _broker_dir,
        "data_folder_out": _broker_dir,
        "processed_folder": _broker_dir,
        "control_folder": _broker_dir,
    }


if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # A file, not memory, so that a worker process and the live server share the test database.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / f"test-precis-{_RUN}.sqlite3")}

# A worker started by a test connects to the database that the test run created.
if env("PRECIS_TEST_DATABASE_NAME", default=""):
    DATABASES["default"]["NAME"] = env("PRECIS_TEST_DATABASE_NAME")

# Static files come straight from the finders: no collectstatic before the tests.
STATIC_ROOT = None
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True
