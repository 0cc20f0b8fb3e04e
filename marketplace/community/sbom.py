"""Reading an uploaded SBOM (CycloneDX JSON or SPDX JSON) into a dependency and licence summary.

Everything is checked before anything is stored: the size, that the file is JSON, that it is
a format and spec version we understand, and that the fields we summarize are there. Each
refusal says what to fix.
"""

import hashlib
import json
from collections import Counter
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.utils.translation import gettext as _

MAX_SBOM_BYTES = 2 * 1024 * 1024
MAX_PACKAGES = 5000
CYCLONEDX_VERSIONS = frozenset({"1.2", "1.3", "1.4", "1.5", "1.6"})
SPDX_VERSIONS = frozenset({"SPDX-2.2", "SPDX-2.3"})
UNKNOWN_LICENCE = "NOASSERTION"


@dataclass(frozen=True)
class SbomSummary:
    format: str  # "cyclonedx" or "spdx"
    spec_version: str
    sha256: str
    packages: list[dict[str, str]] = field(default_factory=list)

    @property
    def licenses(self) -> list[tuple[str, int]]:
        """Licences with the number of packages under each, the most common first."""
        counts = Counter(p["license"] for p in self.packages)
        return sorted(counts.items(), key=lambda item: (-item[1], item[0]))

    def as_json(self) -> dict:
        return {"packages": self.packages, "licenses": [list(pair) for pair in self.licenses]}


def _text(value) -> str:
    return value.strip()[:300] if isinstance(value, str) else ""


def _cyclonedx_licence(component: dict) -> str:
    names = []
    for entry in component.get("licenses") or []:
        if not isinstance(entry, dict):
            continue
        if entry.get("expression"):
            names.append(_text(entry["expression"]))
        licence = entry.get("license")
        if isinstance(licence, dict):
            names.append(_text(licence.get("id")) or _text(licence.get("name")))
    names = [n for n in names if n]
    return " AND ".join(dict.fromkeys(names)) or UNKNOWN_LICENCE


def _parse_cyclonedx(document: dict) -> tuple[str, list[dict[str, str]]]:
    spec = document.get("specVersion")
    if spec not in CYCLONEDX_VERSIONS:
        raise ValidationError(
            _("CycloneDX spec version %(version)s is not supported; use one of %(known)s.")
            % {"version": spec or "?", "known": ", ".join(sorted(CYCLONEDX_VERSIONS))}
        )
    components = document.get("components", [])
    if not isinstance(components, list):
        raise ValidationError(_("In a CycloneDX SBOM, “components” must be a list."))
    packages = []
    for index, component in enumerate(components):
        if not isinstance(component, dict) or not _text(component.get("name")):
            raise ValidationError(_("CycloneDX component %(n)d has no name.") % {"n": index + 1})
        packages.append(
            {
                "name": _text(component["name"]),
                "version": _text(component.get("version")),
                "license": _cyclonedx_licence(component),
                "purl": _text(component.get("purl")),
            }
        )
    return spec, packages


def _spdx_purl(package: dict) -> str:
    for ref in package.get("externalRefs") or []:
        if isinstance(ref, dict) and ref.get("referenceType") == "purl":
            return _text(ref.get("referenceLocator"))
    return ""


def _parse_spdx(document: dict) -> tuple[str, list[dict[str, str]]]:
    spec = document.get("spdxVersion")
    if spec not in SPDX_VERSIONS:
        raise ValidationError(
            _("SPDX version %(version)s is not supported; use one of %(known)s.")
            % {"version": spec or "?", "known": ", ".join(sorted(SPDX_VERSIONS))}
        )
    missing = [key for key in ("SPDXID", "name", "dataLicense") if not document.get(key)]
    if missing:
        raise ValidationError(
            _("The SPDX document lacks required fields: %(fields)s.")
            % {"fields": ", ".join(missing)}
        )
    items = document.get("packages")
    if not isinstance(items, list):
        raise ValidationError(_("An SPDX SBOM needs a “packages” list."))
    packages = []
    for index, package in enumerate(items):
        if not isinstance(package, dict) or not _text(package.get("name")):
            raise ValidationError(_("SPDX package %(n)d has no name.") % {"n": index + 1})
        if not _text(package.get("SPDXID")):
            raise ValidationError(_("SPDX package %(n)d has no SPDXID.") % {"n": index + 1})
        licence = _text(package.get("licenseConcluded"))
        if licence in ("", UNKNOWN_LICENCE, "NONE"):
            licence = _text(package.get("licenseDeclared")) or UNKNOWN_LICENCE
        packages.append(
            {
                "name": _text(package["name"]),
                "version": _text(package.get("versionInfo")),
                "license": licence,
                "purl": _spdx_purl(package),
            }
        )
    return spec, packages


def parse_sbom(upload: UploadedFile) -> SbomSummary:
    """The summary of a CycloneDX or SPDX JSON upload; ValidationError with a clear message if
    the file is too large, not JSON, or not an SBOM we understand."""
    limit_mb = MAX_SBOM_BYTES // (1024 * 1024)
    if upload.size is not None and upload.size > MAX_SBOM_BYTES:
        raise ValidationError(
            _("The SBOM is larger than %(mb)d MB; upload a smaller file.") % {"mb": limit_mb}
        )
    upload.seek(0)
    raw = upload.read(MAX_SBOM_BYTES + 1)
    if len(raw) > MAX_SBOM_BYTES:
        raise ValidationError(
            _("The SBOM is larger than %(mb)d MB; upload a smaller file.") % {"mb": limit_mb}
        )
    if not raw.strip():
        raise ValidationError(_("The SBOM file is empty."))
    try:
        document = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise ValidationError(_("The SBOM is not UTF-8 text; upload the JSON file.")) from exc
    except json.JSONDecodeError as exc:
        raise ValidationError(
            _("The SBOM is not well-formed JSON (line %(line)d, column %(column)d: %(error)s).")
            % {"line": exc.lineno, "column": exc.colno, "error": exc.msg}
        ) from exc
    if not isinstance(document, dict):
        raise ValidationError(_("The SBOM must be a JSON object."))
    if document.get("bomFormat") == "CycloneDX":
        kind = "cyclonedx"
        spec, packages = _parse_cyclonedx(document)
    elif "spdxVersion" in document:
        kind = "spdx"
        spec, packages = _parse_spdx(document)
    else:
        raise ValidationError(
            _(
                "This is not an SBOM we recognise: upload CycloneDX JSON (with “bomFormat”: "
                "“CycloneDX”) or SPDX JSON (with “spdxVersion”)."
            )
        )
    if len(packages) > MAX_PACKAGES:
        raise ValidationError(_("The SBOM lists more than %(n)d packages.") % {"n": MAX_PACKAGES})
    packages.sort(key=lambda p: (p["name"].lower(), p["version"]))
    return SbomSummary(
        format=kind,
        spec_version=str(spec),
        sha256=hashlib.sha256(raw).hexdigest(),
        packages=packages,
    )
