"""Writes for the community: proposals and their discussion, moderation, maintainers' versions
and SBOMs, and component reviews.

Every proposal and comment passes the spam rules first (rate limits per person, and a cap on
links for new accounts); every moderation step appends a CommunityEvent.
"""

import re
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from marketplace.accounts.models import Organization, User
from marketplace.accounts.policies import Permission, has_permission
from marketplace.catalog import services as catalog_services
from marketplace.catalog.freshness import catalog_changed
from marketplace.catalog.models import Listing, ListingVersion, ModerationEvent, Review, Term
from marketplace.catalog.validators import normalize_spdx_expression
from marketplace.community.models import (
    AbuseReport,
    Comment,
    CommunityEvent,
    Contribution,
    Maintainer,
    Sbom,
)
from marketplace.community.sbom import parse_sbom
from marketplace.errors import Conflict, ServiceError

Action = CommunityEvent.Action

# The component fields a contribution may propose, in the order pages show them.
PROPOSABLE_FIELDS: dict[str, str] = {
    "name": gettext_lazy("Name"),
    "tagline": gettext_lazy("Tagline"),
    "description": gettext_lazy("Description"),
    "license": gettext_lazy("Licence (SPDX)"),
    "repository_url": gettext_lazy("Repository"),
    "website": gettext_lazy("Website"),
    "security_contact": gettext_lazy("Security contact"),
    "edge_hardware": gettext_lazy("Supported hardware"),
    "protocols": gettext_lazy("Supported protocols"),
}
TEXT_FIELDS = [name for name in PROPOSABLE_FIELDS if name != "protocols"]
REQUIRED_FOR_NEW = ("name", "tagline", "license")

COMMUNITY_ORGANIZATION_SLUG = "precis-community"


# --- Spam rules ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class RateLimit:
    count: int
    window: timedelta


DEFAULT_RATE_LIMITS = {
    "proposal": RateLimit(5, timedelta(hours=1)),
    "comment": RateLimit(10, timedelta(minutes=10)),
    "report": RateLimit(10, timedelta(hours=1)),
}
# Accounts younger than this may put at most NEW_ACCOUNT_MAX_LINKS links in a text.
NEW_ACCOUNT_AGE = timedelta(days=2)
NEW_ACCOUNT_MAX_LINKS = 1
MAX_LINKS = 10
LINK = re.compile(r"https?://|www\.|\]\(|mailto:", re.IGNORECASE)


def rate_limit(action: str) -> RateLimit:
    """The limit for an action; settings.COMMUNITY_RATE_LIMITS = {"comment": (3, 60)} (count,
    seconds) overrides it."""
    override = getattr(settings, "COMMUNITY_RATE_LIMITS", {}).get(action)
    if override:
        return RateLimit(override[0], timedelta(seconds=override[1]))
    return DEFAULT_RATE_LIMITS[action]


def _recent(action: str, actor: User, since):
    if action == "proposal":
        queryset = Contribution.objects.filter(author=actor)
    elif action == "comment":
        queryset = Comment.objects.filter(author=actor)
    else:
        queryset = AbuseReport.objects.filter(reporter=actor)
    return queryset.filter(created_at__gte=since).order_by("created_at")


def _check_rate(actor: User, action: str) -> None:
    if actor.is_staff:
        return
    # Serialize this person's writes, so that two requests at once cannot both pass the count.
    User.objects.select_for_update().filter(pk=actor.pk).first()
    limit = rate_limit(action)
    now = timezone.now()
    recent = _recent(action, actor, now - limit.window)
    if recent.count() < limit.count:
        return
    oldest = recent.values_list("created_at", flat=True).first()
    wait = max(1, int((oldest + limit.window - now).total_seconds() // 60) + 1)
    messages = {
        "proposal": _(
            "You have made %(count)d proposals recently, the most allowed in %(window)s. "
            "Please try again in %(wait)d minutes."
        ),
        "comment": _(
            "You have written %(count)d comments recently, the most allowed in %(window)s. "
            "Please try again in %(wait)d minutes."
        ),
        "report": _(
            "You have sent %(count)d reports recently, the most allowed in %(window)s. "
            "Please try again in %(wait)d minutes."
        ),
    }
    minutes = int(limit.window.total_seconds() // 60)
    raise ServiceError(
        messages[action]
        % {
            "count": limit.count,
            "window": _("%(n)d minutes") % {"n": minutes},
            "wait": wait,
        },
        code="rate_limited",
        status_code=429,
    )


def _check_links(actor: User, *texts: str) -> None:
    if actor.is_staff:
        return
    links = sum(len(LINK.findall(text or "")) for text in texts)
    new_account = timezone.now() - actor.date_joined < NEW_ACCOUNT_AGE
    if new_account and links > NEW_ACCOUNT_MAX_LINKS:
        raise ServiceError(
            _(
                "New accounts may include at most %(n)d link in a text; remove some links, or "
                "post again in a few days."
            )
            % {"n": NEW_ACCOUNT_MAX_LINKS},
            code="too_many_links",
        )
    if links > MAX_LINKS:
        raise ServiceError(
            _("A text may include at most %(n)d links.") % {"n": MAX_LINKS},
            code="too_many_links",
        )


# --- Proposals ----------------------------------------------------------------------------------


def community_organization() -> Organization:
    """The organization that holds components proposed by the community (no vendor behind)."""
    organization, _created = Organization.objects.get_or_create(
        slug=COMMUNITY_ORGANIZATION_SLUG,
        defaults={"name": "Precis community", "is_buyer": False, "is_vendor": True},
    )
    return organization


def component_values(listing: Listing) -> dict:
    """The proposable fields of a component as they are now (protocols as sorted slugs)."""
    values = {name: getattr(listing, name) or "" for name in TEXT_FIELDS}
    values["protocols"] = sorted(
        t.slug for t in listing.terms.all() if t.kind == Term.Kind.PROTOCOL
    )
    return values


def _clean_values(values: dict) -> dict:
    """The proposed values, stripped and validated as a component would be; ServiceError if not."""
    unknown = set(values) - set(PROPOSABLE_FIELDS)
    if unknown:
        raise ServiceError(_("Unknown fields: %(f)s.") % {"f": ", ".join(sorted(unknown))})
    cleaned = {
        name: str(value or "").strip() for name, value in values.items() if name in TEXT_FIELDS
    }
    if "protocols" in values:
        slugs = sorted(set(values["protocols"] or []))
        known = set(
            Term.objects.filter(kind=Term.Kind.PROTOCOL, slug__in=slugs).values_list(
                "slug", flat=True
            )
        )
        if set(slugs) - known:
            raise ServiceError(_("Unknown protocol: %(p)s.") % {"p": ", ".join(set(slugs) - known)})
        cleaned["protocols"] = slugs
    if cleaned.get("license"):
        cleaned["license"] = normalize_spdx_expression(cleaned["license"])
    probe = Listing(
        kind=Listing.Kind.COMPONENT, **{k: v for k, v in cleaned.items() if k in TEXT_FIELDS}
    )
    exclude = [f.name for f in Listing._meta.fields if f.name not in cleaned]
    try:
        probe.full_clean(exclude=exclude, validate_unique=False, validate_constraints=False)
    except ValidationError as exc:
        labels = {name: str(label) for name, label in PROPOSABLE_FIELDS.items()}
        messages = [
            f"{labels.get(field, field)}: {' '.join(errors)}"
            for field, errors in exc.message_dict.items()
        ]
        raise ServiceError(" ".join(messages)) from exc
    return cleaned


def _record(
    contribution: Contribution,
    *,
    actor: User | None,
    action: str,
    reason: str = "",
    comment: Comment | None = None,
) -> CommunityEvent:
    return CommunityEvent.objects.create(
        contribution=contribution, actor=actor, action=action, reason=reason, comment=comment
    )


@transaction.atomic
def contribution_propose_new(*, actor: User, summary: str, values: dict) -> Contribution:
    """Propose a new open-source component; it exists once a moderator accepts it."""
    _check_rate(actor, "proposal")
    cleaned = _clean_values(values)
    missing = [str(PROPOSABLE_FIELDS[name]) for name in REQUIRED_FOR_NEW if not cleaned.get(name)]
    if missing:
        raise ServiceError(_("A new component needs: %(f)s.") % {"f": ", ".join(missing)})
    _check_links(actor, summary, cleaned.get("description", ""))
    contribution = Contribution.objects.create(
        kind=Contribution.Kind.NEW,
        author=actor,
        summary=summary.strip(),
        proposed={k: v for k, v in cleaned.items() if v},
        original={},
    )
    _record(contribution, actor=actor, action=Action.PROPOSED)
    _notify(contribution, Action.PROPOSED)
    return contribution


@transaction.atomic
def contribution_propose_edit(
    *, actor: User, listing: Listing, summary: str, values: dict
) -> Contribution:
    """Propose new values for a published component; only fields that change are kept."""
    if listing.kind != Listing.Kind.COMPONENT or not listing.is_public:
        raise ServiceError(_("Only published open-source components take community edits."))
    _check_rate(actor, "proposal")
    cleaned = _clean_values(values)
    current = component_values(listing)
    changed = {name: value for name, value in cleaned.items() if current.get(name) != value}
    if not changed:
        raise ServiceError(_("Nothing would change: edit at least one field."), code="no_change")
    if "license" in changed and not changed["license"]:
        raise ServiceError(_("An open-source component needs an SPDX licence."))
    _check_links(actor, summary, changed.get("description", ""))
    contribution = Contribution.objects.create(
        kind=Contribution.Kind.EDIT,
        listing=listing,
        author=actor,
        summary=summary.strip(),
        proposed=changed,
        original={name: current.get(name, "") for name in changed},
    )
    _record(contribution, actor=actor, action=Action.PROPOSED)
    _notify(contribution, Action.PROPOSED)
    return contribution


@transaction.atomic
def comment_add(*, actor: User, contribution: Contribution, body: str) -> Comment:
    body = body.strip()
    if not body:
        raise ServiceError(_("Write something before posting."))
    if contribution.status == Contribution.Status.HIDDEN:
        raise Conflict(_("This contribution was removed by a moderator."))
    _check_rate(actor, "comment")
    _check_links(actor, body)
    return Comment.objects.create(contribution=contribution, author=actor, body=body)


# --- Moderation ---------------------------------------------------------------------------------


def _ensure_staff(actor: User) -> None:
    if not actor.is_staff:
        raise ServiceError(_("Only Precis moderators decide on contributions."), status_code=403)


def _locked_open(contribution: Contribution) -> Contribution:
    contribution = Contribution.objects.select_for_update().get(pk=contribution.pk)
    if contribution.status != Contribution.Status.OPEN:
        raise Conflict(
            _("This contribution is already %(status)s.")
            % {"status": contribution.get_status_display().lower()},
            code="status",
        )
    return contribution


def _apply(listing: Listing, values: dict) -> None:
    """Write accepted values to the component (saving a new one) through the catalog."""
    terms = None
    if "protocols" in values:
        kept = listing.terms.exclude(kind=Term.Kind.PROTOCOL) if listing.pk else []
        protocols = Term.objects.filter(kind=Term.Kind.PROTOCOL, slug__in=values["protocols"])
        terms = [*kept, *protocols]
    fields = {name: value for name, value in values.items() if name in TEXT_FIELDS}
    catalog_services.listing_apply(listing=listing, terms=terms, **fields)


@transaction.atomic
def contribution_accept(
    *, actor: User, contribution: Contribution, reason: str = ""
) -> Contribution:
    """Apply the proposed values (creating the component for a new one) and credit the author."""
    _ensure_staff(actor)
    contribution = _locked_open(contribution)
    now = timezone.now()
    if contribution.kind == Contribution.Kind.NEW:
        values = _clean_values(contribution.proposed)
        listing = Listing(
            kind=Listing.Kind.COMPONENT,
            vendor=community_organization(),
            status=Listing.Status.PUBLISHED,
            published_at=now,
        )
        listing.slug = catalog_services.listing_unique_slug(values["name"])
        _apply(listing, values)
        note = _("Accepted community contribution #%(n)d.") % {"n": contribution.pk}
        for action, from_status in (
            (ModerationEvent.Action.CREATED, ""),
            (ModerationEvent.Action.APPROVED, Listing.Status.IN_REVIEW),
        ):
            ModerationEvent.objects.create(
                listing=listing,
                actor=actor,
                action=action,
                from_status=from_status,
                to_status=listing.status,
                reason=note,
            )
        Maintainer.objects.get_or_create(listing=listing, user=contribution.author)
        contribution.listing = listing
    else:
        listing = Listing.objects.select_for_update().get(pk=contribution.listing_id)
        _check_still_current(contribution, listing)
        _apply(listing, _clean_values(contribution.proposed))
    contribution.status = Contribution.Status.ACCEPTED
    contribution.decided_by, contribution.decided_at = actor, now
    contribution.decision_reason = reason.strip()
    contribution.save()
    _record(contribution, actor=actor, action=Action.ACCEPTED, reason=reason.strip())
    _notify(contribution, Action.ACCEPTED)
    return contribution


def _check_still_current(contribution: Contribution, listing: Listing) -> None:
    """Refuse an edit whose fields changed on the component since it was proposed (by another
    accepted edit or by the vendor): accepting it would silently undo that change."""
    current = component_values(listing)
    moved = [
        str(PROPOSABLE_FIELDS[name])
        for name, value in contribution.proposed.items()
        if current.get(name) != contribution.original.get(name) and current.get(name) != value
    ]
    if moved:
        raise Conflict(
            _(
                "Since this proposal, the component's %(fields)s changed: accepting it would "
                "undo that change. Ask the contributor to propose again from the current values."
            )
            % {"fields": ", ".join(moved)},
            code="stale",
        )


def _notify(contribution: Contribution, action: str) -> None:
    """Email the moderators about a proposal or a report, or its author about a decision, once
    this transaction commits."""
    from marketplace.community import tasks  # tasks import the services

    transaction.on_commit(lambda: tasks.contribution_notify.delay(contribution.pk, action))


@transaction.atomic
def contribution_withdraw(*, actor: User, contribution: Contribution) -> Contribution:
    """The author takes back an open proposal; nothing changes on the component."""
    if actor.pk != contribution.author_id:
        raise ServiceError(_("Only its author can withdraw a proposal."), status_code=403)
    contribution = _locked_open(contribution)
    contribution.status = Contribution.Status.WITHDRAWN
    contribution.decided_at = timezone.now()
    contribution.save(update_fields=["status", "decided_at"])
    _record(contribution, actor=actor, action=Action.WITHDRAWN)
    return contribution


@transaction.atomic
def contribution_reject(*, actor: User, contribution: Contribution, reason: str) -> Contribution:
    _ensure_staff(actor)
    if not reason.strip():
        raise ServiceError(_("Tell the contributor why: a reason is required to reject."))
    contribution = _locked_open(contribution)
    contribution.status = Contribution.Status.REJECTED
    contribution.decided_by, contribution.decided_at = actor, timezone.now()
    contribution.decision_reason = reason.strip()
    contribution.save()
    _record(contribution, actor=actor, action=Action.REJECTED, reason=reason.strip())
    _notify(contribution, Action.REJECTED)
    return contribution


@transaction.atomic
def abuse_report(
    *, actor: User, contribution: Contribution, comment: Comment | None = None, reason: str
) -> AbuseReport:
    """Flag a contribution or one of its comments for the moderators."""
    if not reason.strip():
        raise ServiceError(_("Say briefly what is wrong, so that moderators can judge."))
    if comment is not None and comment.contribution_id != contribution.pk:
        raise ServiceError(_("That comment belongs to another contribution."))
    _check_rate(actor, "report")
    if AbuseReport.objects.filter(
        contribution=contribution,
        comment=comment,
        reporter=actor,
        status=AbuseReport.Status.OPEN,
    ).exists():
        raise Conflict(_("You reported this already; a moderator will look at it."))
    report = AbuseReport.objects.create(
        contribution=contribution, comment=comment, reporter=actor, reason=reason.strip()
    )
    _record(
        contribution, actor=actor, action=Action.REPORTED, reason=reason.strip(), comment=comment
    )
    _notify(contribution, Action.REPORTED)
    return report


@transaction.atomic
def abuse_report_resolve(
    *, actor: User, report: AbuseReport, hide: bool, reason: str = ""
) -> AbuseReport:
    """Hide the reported content (and close every open report on it), or dismiss the report."""
    _ensure_staff(actor)
    report = AbuseReport.objects.select_for_update().get(pk=report.pk)
    if report.status != AbuseReport.Status.OPEN:
        raise Conflict(_("This report was already handled."))
    now = timezone.now()
    same_target = AbuseReport.objects.filter(
        contribution_id=report.contribution_id,
        comment_id=report.comment_id,
        status=AbuseReport.Status.OPEN,
    )
    if hide:
        if report.comment_id:
            Comment.objects.filter(pk=report.comment_id).update(hidden=True)
        else:
            Contribution.objects.filter(pk=report.contribution_id).update(
                status=Contribution.Status.HIDDEN
            )
        same_target.update(status=AbuseReport.Status.UPHELD, resolved_by=actor, resolved_at=now)
    else:
        AbuseReport.objects.filter(pk=report.pk).update(
            status=AbuseReport.Status.DISMISSED, resolved_by=actor, resolved_at=now
        )
    _record(
        report.contribution,
        actor=actor,
        action=Action.HIDDEN if hide else Action.DISMISSED,
        reason=reason.strip(),
        comment=report.comment,
    )
    report.refresh_from_db()
    return report


# --- Maintainers: versions and SBOMs ------------------------------------------------------------


def can_maintain(user: User, listing: Listing) -> bool:
    """Staff, the component's maintainers, and its vendor's publishers look after it."""
    if not user.is_authenticated:
        return False
    if user.is_staff:
        return True
    if any(m.user_id == user.pk for m in listing.maintainers.all()):
        return True
    return has_permission(user, listing.vendor, Permission.PUBLISH)


def _ensure_maintainer(actor: User, listing: Listing) -> None:
    if not can_maintain(actor, listing):
        raise ServiceError(_("Only the component's maintainers can do that."), status_code=403)


@transaction.atomic
def component_version_add(
    *, actor: User, listing: Listing, version: str, changelog: str = ""
) -> ListingVersion:
    _ensure_maintainer(actor, listing)
    if listing.versions.filter(version=version.strip()).exists():
        raise Conflict(_("Version %(version)s already exists.") % {"version": version})
    item = ListingVersion(listing=listing, version=version.strip(), changelog=changelog.strip())
    try:
        item.full_clean()
    except ValidationError as exc:
        raise ServiceError(" ".join(exc.messages)) from exc
    item.save()
    catalog_changed()
    return item


@transaction.atomic
def sbom_upload(*, actor: User, version: ListingVersion, upload: UploadedFile) -> Sbom:
    """Check and summarize an SBOM for a version (replacing an earlier one); nothing is stored
    when the file is refused."""
    _ensure_maintainer(actor, version.listing)
    try:
        summary = parse_sbom(upload)
    except ValidationError as exc:
        raise ServiceError(exc.messages[0], code="invalid_sbom") from exc
    old = Sbom.objects.filter(version=version).first()
    if old is not None:
        old.document.delete(save=False)
        old.delete()
    sbom = Sbom(
        version=version,
        format=summary.format,
        spec_version=summary.spec_version,
        sha256=summary.sha256,
        summary=summary.as_json(),
        package_count=len(summary.packages),
        uploaded_by=actor,
    )
    upload.seek(0)
    name = f"{version.listing.slug}-{version.version}.{summary.format}.json"
    sbom.document.save(name, ContentFile(upload.read()), save=False)
    sbom.save()
    return sbom


# --- Reviews ------------------------------------------------------------------------------------


@transaction.atomic
def component_review(
    *,
    actor: User,
    organization: Organization,
    listing: Listing,
    rating: int,
    title: str,
    body: str,
    production_plants: int | None = None,
) -> Review:
    """A buyer organization reviews a component (catalog.services.review_create), and may say
    in how many of its plants the component runs in production."""
    if listing.kind != Listing.Kind.COMPONENT:
        raise ServiceError(_("Only open-source components are reviewed here."))
    if production_plants is not None and not 1 <= production_plants <= 100_000:
        raise ServiceError(_("Give the number of plants, from 1 to 100,000, or leave it empty."))
    _check_links(actor, title, body)
    review = catalog_services.review_create(
        actor=actor,
        organization=organization,
        listing=listing,
        rating=rating,
        title=title,
        body=body,
    )
    review.production_plants = production_plants
    review.save(update_fields=["production_plants"])
    return review
