"""Settings shared by every environment.

Everything that differs between machines comes from the environment (12-factor); the names are
listed in docs/operations.md. dev.py, test.py and production.py adjust these defaults.
"""

from pathlib import Path

import environ
from celery.schedules import crontab
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent.parent
# Local state of the embedded default (SQLite files, cache, uploads); not in version control.
VAR_DIR = BASE_DIR / "var"
VAR_DIR.mkdir(exist_ok=True)

env = environ.Env()

# --- Core -------------------------------------------------------------------------------------

# "development", "test" or "production": what the settings module is for (seed_demo checks it).
PRECIS_ENVIRONMENT = "development"
SECRET_KEY = env("DJANGO_SECRET_KEY", default="")
DEBUG = False
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["127.0.0.1", "localhost"])

INSTALLED_APPS = [
    # Precis apps come first so that their templates override the libraries' ones.
    "marketplace.accounts",
    "marketplace.catalog",
    "marketplace.storefront",
    "marketplace.vendors",
    "marketplace.community",
    "marketplace.demo",
    "billing",
    "cms",
    # Django
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.humanize",
    "django.contrib.messages",
    "django.contrib.sessions",
    "django.contrib.sitemaps",
    "django.contrib.sites",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    # Accounts
    "allauth",
    "allauth.account",
    "allauth.mfa",
    # API
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_filters",
    # CMS
    "wagtail.contrib.forms",
    "wagtail.contrib.redirects",
    "wagtail.contrib.settings",
    # Editors translate a page into the other language with its "Translate" action.
    "wagtail.contrib.simple_translation",
    "wagtail.embeds",
    "wagtail.sites",
    "wagtail.users",
    "wagtail.snippets",
    "wagtail.documents",
    "wagtail.images",
    "wagtail.search",
    "wagtail.locales",
    "wagtail.admin",
    "wagtail.api.v2",
    "wagtail",
    "modelcluster",
    "taggit",
]

MIDDLEWARE = [
    "marketplace.server_timing.ServerTimingMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "marketplace.accounts.middleware.ActiveOrganizationMiddleware",
    "marketplace.accounts.middleware.RequireMfaMiddleware",
    "wagtail.contrib.redirects.middleware.RedirectMiddleware",
]

ROOT_URLCONF = "marketplace.urls"
WSGI_APPLICATION = "marketplace.wsgi.application"
SITE_ID = 1

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "wagtail.contrib.settings.context_processors.settings",
                "marketplace.accounts.context_processors.organizations",
            ],
            # {% icon %} and {% translated_url %} are used on nearly every page.
            "builtins": ["marketplace.templatetags.site"],
        },
    },
]

# --- Data -------------------------------------------------------------------------------------

DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'precis.sqlite3'}"),
}
DATABASES["default"]["ATOMIC_REQUESTS"] = False
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets readers work while one writer writes; IMMEDIATE takes the write lock at BEGIN
    # so that two writers queue instead of failing with "database is locked" mid-transaction.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
        }
    )
else:
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=60)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
# The usage table's metering index carries the value as a non-key column on PostgreSQL; SQLite
# has no such columns and builds the index on its keys alone, which is what it needs.
SILENCED_SYSTEM_CHECKS = ["models.W040"]

# A real, shared cache: allauth's rate limits count attempts in it, so it must be seen by every
# web process. Files work for one machine; set CACHE_URL=redis://... when scaling out.
CACHES = {
    "default": env.cache("CACHE_URL", default=f"filecache://{VAR_DIR / 'cache'}"),
}

# --- Auth -------------------------------------------------------------------------------------

AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "accounts:dashboard"

ACCOUNT_ADAPTER = "marketplace.accounts.adapters.AccountAdapter"
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_EMAIL_VERIFICATION = "mandatory"
ACCOUNT_LOGIN_ON_EMAIL_CONFIRMATION = True
ACCOUNT_CONFIRM_EMAIL_ON_GET = False
ACCOUNT_LOGOUT_ON_GET = False
ACCOUNT_LOGIN_ON_PASSWORD_RESET = False
ACCOUNT_PREVENT_ENUMERATION = True
ACCOUNT_EMAIL_SUBJECT_PREFIX = "[Precis] "
ACCOUNT_DEFAULT_HTTP_PROTOCOL = "https"
# allauth's defaults, written out so that the limits are visible and reviewed with the code.
ACCOUNT_RATE_LIMITS = {
    "change_password": "5/m/user",
    "manage_email": "10/m/user",
    "reset_password": "20/m/ip,5/m/key",
    "reauthenticate": "10/m/user",
    "reset_password_from_key": "20/m/ip",
    "signup": "20/m/ip",
    "login": "30/m/ip",
    "login_failed": "10/m/ip,5/5m/key",
    "confirm_email": "1/3m/key",
}

MFA_SUPPORTED_TYPES = ["totp", "recovery_codes"]
MFA_TOTP_ISSUER = "Precis"
MFA_RECOVERY_CODE_COUNT = 10

# --- Internationalization ---------------------------------------------------------------------

LANGUAGE_CODE = "en"
LANGUAGES = [
    ("en", _("English")),
    ("zh-hans", _("Simplified Chinese")),
]
LOCALE_PATHS = [BASE_DIR / "locale"]
USE_I18N = True
TIME_ZONE = "UTC"
USE_TZ = True
# New organizations bill in this time zone until their owner picks another.
PRECIS_DEFAULT_TIME_ZONE = "Asia/Shanghai"
# Precis's share of every invoice, in percent (a Decimal string; the vendor gets the rest).
PRECIS_PLATFORM_FEE_PERCENT = env("PRECIS_PLATFORM_FEE_PERCENT", default="10")

# --- Payments (Stripe) ------------------------------------------------------------------------

# Precis rates and invoices; Stripe collects. Every call goes through billing/gateway.py. Without
# keys, the embedded default talks to localstripe on 127.0.0.1 (billing/stripe_local.py), which
# accepts any key that looks like one.
STRIPE_SECRET_KEY = env("STRIPE_SECRET_KEY", default="sk_test_precis_local")
STRIPE_PUBLISHABLE_KEY = env("STRIPE_PUBLISHABLE_KEY", default="pk_test_precis_local")
STRIPE_WEBHOOK_SECRET = env("STRIPE_WEBHOOK_SECRET", default="whsec_precis_local")
# A Stripe-compatible server instead of api.stripe.com (empty: Stripe itself).
STRIPE_API_BASE = env("STRIPE_API_BASE", default="http://127.0.0.1:8420")
# Seconds before a call to Stripe gives up (it is retried with the same idempotency key).
STRIPE_TIMEOUT = env.float("STRIPE_TIMEOUT", default=20.0)
# Vendors onboard Express accounts and are paid by Stripe transfer (the platform account must
# have Connect); otherwise staff record bank transfers. localstripe has no Connect.
STRIPE_CONNECT_ENABLED = env.bool("STRIPE_CONNECT_ENABLED", default=False)

# --- Static and media -------------------------------------------------------------------------

STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_URL = "/media/"
MEDIA_ROOT = env.path("PRECIS_MEDIA_ROOT", default=str(VAR_DIR / "media"))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

# --- Email ------------------------------------------------------------------------------------

vars().update(env.email_url("EMAIL_URL", default="consolemail://"))
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default="Precis <no-reply@precis.local>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# --- CMS --------------------------------------------------------------------------------------

WAGTAIL_SITE_NAME = "Precis"
WAGTAIL_I18N_ENABLED = True
WAGTAIL_CONTENT_LANGUAGES = LANGUAGES
# Editors sign in where everyone does, with their second factor (not Wagtail's password form).
WAGTAILADMIN_LOGIN_URL = "/accounts/login/"
WAGTAILADMIN_BASE_URL = env("PRECIS_BASE_URL", default="http://127.0.0.1:8000")
WAGTAILDOCS_EXTENSIONS = ["csv", "docx", "key", "odt", "pdf", "pptx", "rtf", "txt", "xlsx", "zip"]
WAGTAILSEARCH_BACKENDS = {"default": {"BACKEND": "wagtail.search.backends.database"}}

# --- API --------------------------------------------------------------------------------------

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
        "rest_framework.authentication.TokenAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "EXCEPTION_HANDLER": "marketplace.api.exception_handler",
    "DEFAULT_THROTTLE_RATES": {"auth-token": "10/min"},
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Precis API",
    "DESCRIPTION": (
        "The marketplace API. People authenticate with a session or with "
        "`Authorization: Token <token>` from `POST /api/v1/auth/token/`; industrial platforms "
        "authenticate with an installation key."
    ),
    "VERSION": "1.0.0",
    # Swagger UI's files are served by the site itself, never from a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    # Only Precis's own API is described; Wagtail's content API has its own conventions.
    "PREPROCESSING_HOOKS": ["marketplace.api.only_precis_endpoints"],
    # Two different "kind" choices: a listing's and an installation's.
    "ENUM_NAME_OVERRIDES": {
        "ListingKindEnum": "marketplace.catalog.models.Listing.Kind",
        "InstallationKindEnum": "billing.models.Installation.Kind",
    },
}

# --- Jobs -------------------------------------------------------------------------------------

CELERY_BROKER_URL = env("CELERY_BROKER_URL", default="")
# Without a broker, tasks run eagerly inside the web process (the embedded default).
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
CELERY_TASK_EAGER_PROPAGATES = True
if not CELERY_BROKER_URL:
    CELERY_BROKER_URL = "memory://"
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SOFT_TIME_LIMIT = 240
CELERY_TASK_TIME_LIMIT = 300
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULE = {
    "expire-invitations": {
        "task": "marketplace.accounts.tasks.invitations_expire",
        "schedule": crontab(minute=15),
    },
    # Charges issued invoices to the buyer's saved card (billing.services.payments).
    "collect-invoices": {
        "task": "billing.tasks.invoices_collect",
        "schedule": crontab(minute="*/10"),
    },
    # Compares the last two days' card payments with Stripe; emails staff about differences.
    # 02:35 in China (CELERY_TIMEZONE is UTC), away from the */10 close and collection runs.
    "reconcile-stripe": {
        "task": "billing.tasks.stripe_reconcile",
        "schedule": crontab(hour=18, minute=35),
    },
    # Drafts the payouts of the month that ended (UTC); staff pay them from the vendor's page.
    "prepare-payouts": {
        "task": "billing.tasks.payouts_prepare",
        "schedule": crontab(day_of_month=1, hour=2, minute=20),
    },
    # Ends due trials too, and is what `manage.py close_period` runs.
    "close-periods": {
        "task": "billing.tasks.periods_close",
        "schedule": crontab(minute="*/10"),
    },
    # Emails buyers about invoices just issued and outcome statements to verify.
    "send-billing-notices": {
        "task": "billing.tasks.billing_notices_send",
        "schedule": crontab(minute="3-59/10"),
    },
    "remind-trials-ending": {
        "task": "billing.tasks.trial_reminders_send",
        "schedule": crontab(minute=5),
    },
}

# --- Logging ----------------------------------------------------------------------------------

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env("DJANGO_LOG_LEVEL", default="INFO")},
    "loggers": {
        # One line per background task run inside a request is noise, not news.
        "django_tasks": {"level": "WARNING"},
        # stripe-python logs every request at INFO; Precis records what matters itself.
        "stripe": {"level": "WARNING"},
    },
}
