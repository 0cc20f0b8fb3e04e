"""Pages of the vendor portal (listings, versions, media, review, verification) and of staff
moderation (listings to review, vendors to verify).

Vendors reach a listing only through policies.object_for, so a member of another organization
gets 404 for every page of it; a member whose role cannot publish gets 403. Staff reach the
moderation pages; anyone else gets 404 there.
"""

from collections import defaultdict
from dataclasses import dataclass, field
from functools import wraps

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from marketplace.accounts import selectors as account_selectors
from marketplace.accounts import services as account_services
from marketplace.accounts.models import Organization
from marketplace.accounts.policies import (
    Permission,
    has_permission,
    object_for,
    organization_for,
    role_allows,
)
from marketplace.accounts.selectors import memberships_of
from marketplace.catalog import selectors, services
from marketplace.catalog.models import Listing, ModerationEvent, Term
from marketplace.errors import ServiceError
from marketplace.vendors.forms import (
    ImageUploadForm,
    KpiClaimFormSet,
    ListingForm,
    ReasonForm,
    VerificationRequestForm,
    VersionForm,
    kpi_claims_of,
)

Status = Listing.Status
LOCKED_STATUSES = (Status.SUSPENDED, Status.ARCHIVED)


def preview_url(slug: str) -> str | None:
    """The storefront page of a listing (it shows drafts to the vendor), if the page exists."""
    try:
        return reverse("storefront:listing", args=[slug])
    except NoReverseMatch:
        return None


# --- Dashboard ------------------------------------------------------------------------------


@dataclass
class ListingRow:
    listing: Listing
    preview_url: str | None


@dataclass
class VendorOrganization:
    organization: Organization
    role: str
    can_publish: bool
    # Owners and admins speak for the organization: they may ask for its verification.
    can_manage_verification: bool
    verification_form: VerificationRequestForm | None = None
    rows: list[ListingRow] = field(default_factory=list)


def _verification_form(organization: Organization, data=None) -> VerificationRequestForm:
    """The request form, filled with the details given last time (to fix after a rejection)."""
    return VerificationRequestForm(
        data,
        prefix="verification",
        initial={
            "legal_name": organization.legal_name,
            "registration_number": organization.registration_number,
        },
    )


def _dashboard_page(
    request: HttpRequest,
    *,
    bound_forms: dict[int, VerificationRequestForm] | None = None,
    status: int = 200,
) -> HttpResponse:
    """The portal's home; `bound_forms` are verification forms to show again with errors."""
    bound_forms = bound_forms or {}
    may_ask = {Organization.Verification.UNVERIFIED, Organization.Verification.REJECTED}
    vendors = {}
    for membership in memberships_of(request.user).filter(organization__is_vendor=True):
        organization = membership.organization
        vendor = VendorOrganization(
            organization=organization,
            role=membership.get_role_display(),
            can_publish=role_allows(membership.role, Permission.PUBLISH),
            can_manage_verification=role_allows(membership.role, Permission.EDIT_ORGANIZATION),
        )
        if vendor.can_manage_verification and organization.verification_status in may_ask:
            vendor.verification_form = bound_forms.get(organization.pk) or _verification_form(
                organization
            )
        vendors[organization.pk] = vendor
    rows = defaultdict(list)
    for listing in selectors.vendor_listings(request.user).order_by("-updated_at", "-pk"):
        rows[listing.vendor_id].append(ListingRow(listing, preview_url(listing.slug)))
    for organization_id, vendor in vendors.items():
        vendor.rows = rows[organization_id]
    queue_size = 0
    if request.user.is_staff:
        queue_size = (
            selectors.moderation_queue().count()
            + account_selectors.organizations_to_verify().count()
        )
    return render(
        request,
        "vendors/dashboard.html",
        {"vendors": list(vendors.values()), "queue_size": queue_size},
        status=status,
    )


@login_required
def dashboard(request: HttpRequest) -> HttpResponse:
    return _dashboard_page(request)


@login_required
@require_POST
def verification_request(request: HttpRequest, slug: str) -> HttpResponse:
    organization = organization_for(request.user, slug, Permission.EDIT_ORGANIZATION)
    form = _verification_form(organization, request.POST)
    if not form.is_valid():
        return _dashboard_page(request, bound_forms={organization.pk: form}, status=400)
    try:
        account_services.organization_request_verification(
            actor=request.user, organization=organization, **form.cleaned_data
        )
    except ServiceError as exc:
        # A refusal by state (already asked, already verified): the dashboard shows the state.
        messages.error(request, exc.message)
    else:
        messages.success(
            request,
            _(
                "Verification of %(name)s requested. Precis staff check it, usually within "
                "two working days, and email the owners and admins the result."
            )
            % {"name": organization.name},
        )
    return redirect(reverse("vendors:dashboard") + f"#verification-{organization.slug}")


# --- Listings -------------------------------------------------------------------------------


def _listing_for(request: HttpRequest, slug: str) -> Listing:
    """One of the person's listings: 404 if it is not their organization's, 403 by role."""
    listing = object_for(
        Listing.objects.select_related("vendor"), request.user, via="vendor", slug=slug
    )
    if not has_permission(request.user, listing.vendor, Permission.PUBLISH):
        raise PermissionDenied(_("Your role in this organization does not allow publishing."))
    return listing


def _listing_context(listing: Listing, tab: str) -> dict:
    history = list(selectors.moderation_history(listing))
    latest = history[0] if history else None
    rejected = (
        listing.status == Status.DRAFT
        and latest is not None
        and latest.action == ModerationEvent.Action.REJECTED
    )
    return {
        "listing": listing,
        "tab": tab,
        "preview_url": preview_url(listing.slug),
        "history": history,
        "rejection": latest if rejected else None,
        "can_submit": listing.status == Status.DRAFT,
        "can_archive": listing.status in (Status.DRAFT, Status.PUBLISHED),
        "locked": listing.status in LOCKED_STATUSES,
    }


def _kpi_initial(listing: Listing) -> list[dict]:
    return [
        {"label": c.label, "value": c.value, "evidence_url": c.evidence_url}
        for c in listing.kpi_claims.all()
    ]


@login_required
def listing_create(request: HttpRequest) -> HttpResponse:
    slug = request.GET.get("organization") or getattr(request.organization, "slug", "")
    if not slug:
        return redirect("vendors:dashboard")
    organization = organization_for(request.user, slug, Permission.PUBLISH)
    if not organization.is_vendor:
        return render(
            request,
            "vendors/not_a_vendor.html",
            {
                "organization": organization,
                "vendor_memberships": memberships_of(request.user).filter(
                    organization__is_vendor=True
                ),
            },
            status=403,
        )
    data = request.POST if request.method == "POST" else None
    form = ListingForm(data, instance=Listing(vendor=organization), vendor=organization)
    kpi_formset = KpiClaimFormSet(data, prefix="kpi")
    if data is not None and form.is_valid() and kpi_formset.is_valid():
        try:
            listing = services.listing_create(
                actor=request.user,
                vendor=organization,
                terms=form.terms(),
                components=form.cleaned_data["components"],
                kpi_claims=kpi_claims_of(kpi_formset),
                **form.listing_fields(),
            )
        except ServiceError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(
                request,
                _("Draft saved. Add versions and screenshots, then submit it for review."),
            )
            return redirect("vendors:listing_edit", slug=listing.slug)
    return render(
        request,
        "vendors/listing_create.html",
        {"form": form, "kpi_formset": kpi_formset, "organization": organization},
    )


@login_required
def listing_edit(request: HttpRequest, slug: str) -> HttpResponse:
    try:
        listing = _listing_for(request, slug)
    except Http404:
        # Staff follow the submission email to this page; their page is the moderation one.
        if request.user.is_staff and Listing.objects.filter(slug=slug).exists():
            return redirect("vendors:moderation_detail", slug=slug)
        raise
    data = request.POST if request.method == "POST" else None
    # The form edits its own copy, so the page header keeps the saved name if saving fails.
    form = ListingForm(data, instance=Listing.objects.get(pk=listing.pk), vendor=listing.vendor)
    kpi_formset = KpiClaimFormSet(data, prefix="kpi", initial=_kpi_initial(listing))
    if listing.status in LOCKED_STATUSES:
        form.disable()
        for kpi_form in kpi_formset:
            for kpi_field in kpi_form.fields.values():
                kpi_field.disabled = True
    if data is not None and form.is_valid() and kpi_formset.is_valid():
        try:
            services.listing_update(
                actor=request.user,
                listing=form.instance,
                terms=form.terms(),
                components=form.cleaned_data["components"],
                kpi_claims=kpi_claims_of(kpi_formset),
                **form.listing_fields(),
            )
        except ServiceError as exc:
            form.add_error(None, exc.message)
        else:
            if listing.status == Status.PUBLISHED:
                messages.success(request, _("Saved. The changes are public now."))
            else:
                messages.success(request, _("Saved."))
            return redirect("vendors:listing_edit", slug=listing.slug)
    return render(
        request,
        "vendors/listing_edit.html",
        {**_listing_context(listing, "details"), "form": form, "kpi_formset": kpi_formset},
    )


@login_required
def listing_versions(request: HttpRequest, slug: str) -> HttpResponse:
    listing = _listing_for(request, slug)
    form = VersionForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            version = services.version_add(actor=request.user, listing=listing, **form.cleaned_data)
        except ServiceError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(
                request, _("Version %(version)s added.") % {"version": version.version}
            )
            return redirect("vendors:listing_versions", slug=listing.slug)
    return render(
        request,
        "vendors/listing_versions.html",
        {
            **_listing_context(listing, "versions"),
            "form": form,
            "versions": listing.versions.all(),
        },
    )


@login_required
def listing_media(request: HttpRequest, slug: str) -> HttpResponse:
    listing = _listing_for(request, slug)
    if request.method == "POST":
        form = ImageUploadForm(request.POST, request.FILES)
    else:
        form = ImageUploadForm()
    if request.method == "POST" and form.is_valid():
        try:
            services.image_add(
                actor=request.user,
                listing=listing,
                upload=form.cleaned_data["image"],
                caption=form.cleaned_data["caption"],
            )
        except ServiceError as exc:
            form.add_error("image", exc.message)
        else:
            messages.success(request, _("Screenshot added."))
            return redirect("vendors:listing_media", slug=listing.slug)
    return render(
        request,
        "vendors/listing_media.html",
        {
            **_listing_context(listing, "media"),
            "form": form,
            "images": listing.images.all(),
            "max_images": services.MAX_IMAGES,
        },
    )


@login_required
@require_POST
def listing_image_remove(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    listing = _listing_for(request, slug)
    image = get_object_or_404(listing.images, pk=pk)
    try:
        services.image_remove(actor=request.user, image=image)
    except ServiceError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Screenshot removed."))
    return redirect("vendors:listing_media", slug=listing.slug)


def _back(request: HttpRequest, listing: Listing) -> HttpResponse:
    target = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(target, {request.get_host()}, request.is_secure()):
        target = reverse("vendors:listing_edit", args=[listing.slug])
    return redirect(target)


@login_required
@require_POST
def listing_submit(request: HttpRequest, slug: str) -> HttpResponse:
    listing = _listing_for(request, slug)
    try:
        services.listing_submit(actor=request.user, listing=listing)
    except ServiceError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(
            request,
            _(
                "%(name)s is submitted for review. Precis staff check it, usually within two "
                "working days, and email you the result."
            )
            % {"name": listing.name},
        )
    return _back(request, listing)


@login_required
@require_POST
def listing_archive(request: HttpRequest, slug: str) -> HttpResponse:
    listing = _listing_for(request, slug)
    try:
        services.listing_archive(actor=request.user, listing=listing)
    except ServiceError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("%(name)s is archived.") % {"name": listing.name})
    return _back(request, listing)


# --- Staff moderation -----------------------------------------------------------------------


def staff_only(view):
    """Signed-in staff only; anyone else gets 404, as if the page did not exist."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if not request.user.is_staff:
            raise Http404("Not found.")
        return view(request, *args, **kwargs)

    return login_required(wrapped)


@staff_only
def moderation_queue(request: HttpRequest) -> HttpResponse:
    entries = [
        ListingRow(listing, preview_url(listing.slug))
        for listing in selectors.moderation_queue_entries()
    ]
    return render(
        request,
        "vendors/moderation_queue.html",
        {
            "entries": entries,
            "vendors_to_verify": list(account_selectors.organizations_to_verify()),
        },
    )


def _reject_form(data=None) -> ReasonForm:
    return ReasonForm(data, prefix="reject", label=_("What the vendor should change"))


def _suspend_form(data=None) -> ReasonForm:
    return ReasonForm(data, prefix="suspend", label=_("Why it is suspended"))


def _moderation_page(
    request: HttpRequest,
    slug: str,
    *,
    reject_form: ReasonForm | None = None,
    suspend_form: ReasonForm | None = None,
    status: int = 200,
) -> HttpResponse:
    listing = selectors.listing_page(slug, viewer=request.user)
    if listing is None:
        raise Http404("Not found.")
    terms = list(listing.terms.all())
    terms_by_kind = {
        label: chosen
        for kind, label in Term.Kind.choices
        if (chosen := [term for term in terms if term.kind == kind])
    }
    return render(
        request,
        "vendors/moderation_detail.html",
        {
            "listing": listing,
            "preview_url": preview_url(listing.slug),
            "terms_by_kind": terms_by_kind,
            "history": selectors.moderation_history(listing),
            "reject_form": reject_form or _reject_form(),
            "suspend_form": suspend_form or _suspend_form(),
        },
        status=status,
    )


@staff_only
def moderation_detail(request: HttpRequest, slug: str) -> HttpResponse:
    return _moderation_page(request, slug)


def _apply(request: HttpRequest, step, success: str, target: str, **kwargs) -> HttpResponse:
    """Call one staff service (`step(actor=..., **kwargs)`), say how it went, go to `target`."""
    try:
        step(actor=request.user, **kwargs)
    except ServiceError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, success)
    return redirect(target)


def _moderate(request: HttpRequest, slug: str, step, success: str, **kwargs) -> HttpResponse:
    """Call one moderation service on the listing and say how it went."""
    listing = get_object_or_404(Listing, slug=slug)
    target = reverse("vendors:moderation_detail", args=[slug])
    return _apply(
        request, step, success % {"name": listing.name}, target, listing=listing, **kwargs
    )


@staff_only
@require_POST
def moderation_approve(request: HttpRequest, slug: str) -> HttpResponse:
    return _moderate(
        request,
        slug,
        services.listing_approve,
        _("%(name)s is published. The vendor has been told by email."),
    )


@staff_only
@require_POST
def moderation_reject(request: HttpRequest, slug: str) -> HttpResponse:
    form = _reject_form(request.POST)
    if not form.is_valid():
        return _moderation_page(request, slug, reject_form=form, status=400)
    return _moderate(
        request,
        slug,
        services.listing_reject,
        _("%(name)s went back to the vendor as a draft, with your reason."),
        reason=form.cleaned_data["reason"],
    )


@staff_only
@require_POST
def moderation_suspend(request: HttpRequest, slug: str) -> HttpResponse:
    form = _suspend_form(request.POST)
    if not form.is_valid():
        return _moderation_page(request, slug, suspend_form=form, status=400)
    return _moderate(
        request,
        slug,
        services.listing_suspend,
        _("%(name)s is suspended and hidden from the storefront."),
        reason=form.cleaned_data["reason"],
    )


@staff_only
@require_POST
def moderation_reinstate(request: HttpRequest, slug: str) -> HttpResponse:
    return _moderate(request, slug, services.listing_reinstate, _("%(name)s is published again."))


# --- Staff verification of vendors ----------------------------------------------------------


def _verification_reject_form(data=None) -> ReasonForm:
    return ReasonForm(
        data,
        prefix="reject",
        label=_("What the vendor should fix"),
        help_text=_("The vendor reads this in an email and in the vendor portal."),
    )


def _verification_revoke_form(data=None) -> ReasonForm:
    return ReasonForm(
        data,
        prefix="revoke",
        label=_("Why the verification is withdrawn"),
        help_text=_("The vendor reads this in an email and in the vendor portal."),
    )


def _vendor_page(
    request: HttpRequest,
    slug: str,
    *,
    reject_form: ReasonForm | None = None,
    revoke_form: ReasonForm | None = None,
    status: int = 200,
) -> HttpResponse:
    organization = get_object_or_404(Organization, slug=slug)
    return render(
        request,
        "vendors/moderation_vendor.html",
        {
            "organization": organization,
            "contacts": account_selectors.owners_and_admins_of(organization),
            "history": account_selectors.verification_history(organization),
            "reject_form": reject_form or _verification_reject_form(),
            "revoke_form": revoke_form or _verification_revoke_form(),
        },
        status=status,
    )


@staff_only
def moderation_vendor(request: HttpRequest, slug: str) -> HttpResponse:
    return _vendor_page(request, slug)


def _decide(request: HttpRequest, slug: str, step, success: str, **kwargs) -> HttpResponse:
    """Call one verification service on the organization and say how it went."""
    organization = get_object_or_404(Organization, slug=slug)
    target = reverse("vendors:moderation_vendor", args=[slug])
    return _apply(
        request,
        step,
        success % {"name": organization.name},
        target,
        organization=organization,
        **kwargs,
    )


@staff_only
@require_POST
def moderation_vendor_verify(request: HttpRequest, slug: str) -> HttpResponse:
    return _decide(
        request,
        slug,
        account_services.organization_verify,
        _("%(name)s is verified. Its owners and admins have been told by email."),
    )


@staff_only
@require_POST
def moderation_vendor_reject(request: HttpRequest, slug: str) -> HttpResponse:
    form = _verification_reject_form(request.POST)
    if not form.is_valid():
        return _vendor_page(request, slug, reject_form=form, status=400)
    return _decide(
        request,
        slug,
        account_services.organization_reject_verification,
        _("The verification of %(name)s is rejected. The vendor has your reason."),
        reason=form.cleaned_data["reason"],
    )


@staff_only
@require_POST
def moderation_vendor_revoke(request: HttpRequest, slug: str) -> HttpResponse:
    form = _verification_revoke_form(request.POST)
    if not form.is_valid():
        return _vendor_page(request, slug, revoke_form=form, status=400)
    return _decide(
        request,
        slug,
        account_services.organization_revoke_verification,
        _("The verification of %(name)s is revoked. The vendor has your reason."),
        reason=form.cleaned_data["reason"],
    )
