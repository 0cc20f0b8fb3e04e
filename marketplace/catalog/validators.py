"""Validation of what vendors type or upload into the catalog."""

import re
from functools import cache

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

SEMVER = re.compile(
    r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)"
    r"(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?"
    r"(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$"
)
SHA256 = re.compile(r"^[0-9a-f]{64}$")


def validate_semver(value: str) -> None:
    """Semantic Versioning 2.0.0 (the regular expression published with the spec)."""
    if not SEMVER.match(value):
        raise ValidationError(
            _("%(value)s is not a semantic version such as 1.4.2 or 2.0.0-rc.1."),
            params={"value": value},
        )


def validate_sha256(value: str) -> None:
    if not SHA256.match(value):
        raise ValidationError(
            _("Give the artifact's SHA-256 checksum as 64 lower-case hex digits.")
        )


@cache
def _spdx():
    from license_expression import get_spdx_licensing

    return get_spdx_licensing()


def _spdx_check(value: str) -> tuple[list[str], str | None]:
    try:
        info = _spdx().validate(value, strict=True)
    except Exception as exc:  # the parser raises on some malformed input instead of reporting
        return [str(exc) or exc.__class__.__name__], None
    return list(info.errors), info.normalized_expression


def validate_spdx_expression(value: str) -> None:
    """An SPDX licence expression of known identifiers, such as `Apache-2.0 OR MIT`."""
    errors, _normalized = _spdx_check(value)
    if errors:
        raise ValidationError(
            _("%(value)s is not a valid SPDX licence expression: %(errors)s"),
            params={"value": value, "errors": "; ".join(errors)},
        )


def normalize_spdx_expression(value: str) -> str:
    """The expression with identifiers in their canonical case (`apache-2.0` -> `Apache-2.0`)."""
    _errors, normalized = _spdx_check(value)
    return normalized or value
