"""Pages of the community: components, proposals with their discussion, contributor profiles,
and the moderators' queue. Each view parses, calls one service or selector, and renders."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from marketplace.catalog.models import Listing, ListingVersion
from marketplace.community import selectors, services
from marketplace.community.diffs import field_diffs
from marketplace.community.forms import (
    CommentForm,
    ComponentForm,
    DecisionForm,
    ReportForm,
    ReviewForm,
    SbomForm,
    VersionForm,
)
from marketplace.community.models import AbuseReport, Comment, Contribution, Sbom
from marketplace.errors import ServiceError


def _staff_only(request: HttpRequest) -> None:
    if not request.user.is_staff:
        raise Http404


def _public_component(slug: str) -> Listing:
    return get_object_or_404(
        Listing, slug=slug, kind=Listing.Kind.COMPONENT, status=Listing.Status.PUBLISHED
    )


# --- Components ---------------------------------------------------------------------------------


def component_list(request: HttpRequest) -> HttpResponse:
    return render(request, "community/component_list.html", {"components": selectors.components()})


def _component_page(request: HttpRequest, slug: str, *, status: int = 200, **forms) -> HttpResponse:
    listing = selectors.component_page(slug, viewer=request.user)
    if listing is None:
        raise Http404
    reviews = list(listing.reviews.all())
    versions = list(listing.versions.all())
    for version in versions:
        # One upload form per version, with ids of its own; the one that failed keeps its errors.
        if version.pk == forms.get("sbom_version"):
            version.sbom_form = forms["sbom_form"]
        else:
            version.sbom_form = SbomForm(auto_id=f"id_v{version.pk}_%s")
    context = {
        "listing": listing,
        "versions": versions,
        "reviews": reviews,
        "plants": selectors.plants_in_production(reviews),
        "credits": selectors.credits(listing.accepted_contributions),
        "can_maintain": services.can_maintain(request.user, listing),
        "version_form": forms.get("version_form") or VersionForm(),
        "review_form": forms.get("review_form") or ReviewForm(),
    }
    return render(request, "community/component_detail.html", context, status=status)


def component_detail(request: HttpRequest, slug: str) -> HttpResponse:
    return _component_page(request, slug)


@login_required
@require_POST
def version_add(request: HttpRequest, slug: str) -> HttpResponse:
    listing = _public_component(slug)
    form = VersionForm(request.POST)
    if form.is_valid():
        try:
            services.component_version_add(actor=request.user, listing=listing, **form.cleaned_data)
        except ServiceError as exc:
            if exc.status_code == 403:
                raise Http404 from exc
            form.add_error(None, exc.message)
        else:
            messages.success(request, _("Version added."))
            return redirect("community:component", slug=slug)
    return _component_page(request, slug, status=400, version_form=form)


@login_required
@require_POST
def sbom_upload(request: HttpRequest, slug: str, version_id: int) -> HttpResponse:
    listing = _public_component(slug)
    version = get_object_or_404(
        ListingVersion.objects.select_related("listing"), pk=version_id, listing=listing
    )
    form = SbomForm(request.POST, request.FILES, auto_id=f"id_v{version.pk}_%s")
    if form.is_valid():
        try:
            sbom = services.sbom_upload(
                actor=request.user, version=version, upload=form.cleaned_data["document"]
            )
        except ServiceError as exc:
            if exc.status_code == 403:
                raise Http404 from exc
            form.add_error("document", exc.message)
        else:
            messages.success(
                request,
                _("SBOM for %(version)s saved: %(n)d packages.")
                % {"version": version.version, "n": sbom.package_count},
            )
            return redirect(f"{reverse('community:component', args=[slug])}#version-{version.pk}")
    return _component_page(request, slug, status=400, sbom_form=form, sbom_version=version.pk)


def sbom_download(request: HttpRequest, slug: str, version_id: int) -> FileResponse:
    """The SBOM of a published component's version, as it was uploaded (checked whole first)."""
    listing = _public_component(slug)
    sbom = get_object_or_404(
        Sbom.objects.select_related("version"), version__pk=version_id, version__listing=listing
    )
    name = f"{listing.slug}-{sbom.version.version}.{sbom.format}.json"
    return FileResponse(
        sbom.document.open("rb"), as_attachment=True, filename=name, content_type="application/json"
    )


@login_required
@require_POST
def review(request: HttpRequest, slug: str) -> HttpResponse:
    listing = _public_component(slug)
    form = ReviewForm(request.POST)
    organization = request.organization
    if form.is_valid():
        if organization is None:
            form.add_error(None, _("Reviews are written for a buyer organization you belong to."))
        else:
            try:
                services.component_review(
                    actor=request.user, organization=organization, listing=listing,
                    **form.cleaned_data,
                )  # fmt: skip
            except ServiceError as exc:
                form.add_error(None, exc.message)
            else:
                messages.success(request, _("Thank you: your review is published."))
                return redirect("community:component", slug=slug)
    return _component_page(request, slug, status=400, review_form=form)


# --- Proposals ----------------------------------------------------------------------------------


def _propose_page(request, form, listing=None, status=200):
    return render(
        request, "community/propose.html", {"form": form, "listing": listing}, status=status
    )


@login_required
def propose_new(request: HttpRequest) -> HttpResponse:
    protocols = selectors.protocol_terms()
    form = ComponentForm(request.POST or None, protocols=protocols)
    if request.method == "POST" and form.is_valid():
        try:
            contribution = services.contribution_propose_new(
                actor=request.user, summary=form.cleaned_data["summary"], values=form.values()
            )
        except ServiceError as exc:
            form.add_error(None, exc.message)
            return _propose_page(request, form, status=exc.status_code)
        messages.success(request, _("Thank you: moderators will review your proposal."))
        return redirect("community:contribution", pk=contribution.pk)
    return _propose_page(request, form, status=400 if request.method == "POST" else 200)


@login_required
def propose_edit(request: HttpRequest, slug: str) -> HttpResponse:
    listing = _public_component(slug)
    protocols = selectors.protocol_terms()
    initial = services.component_values(listing)
    form = ComponentForm(request.POST or None, protocols=protocols, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            contribution = services.contribution_propose_edit(
                actor=request.user,
                listing=listing,
                summary=form.cleaned_data["summary"],
                values=form.values(),
            )
        except ServiceError as exc:
            form.add_error(None, exc.message)
            return _propose_page(request, form, listing, status=exc.status_code)
        messages.success(request, _("Thank you: moderators will review your proposal."))
        return redirect("community:contribution", pk=contribution.pk)
    return _propose_page(request, form, listing, status=400 if request.method == "POST" else 200)


def _contribution_page(request, pk, *, status=200, comment_form=None, decision_form=None):
    contribution = selectors.contribution_page(pk)
    if contribution is None:
        raise Http404
    if contribution.status == Contribution.Status.HIDDEN and not request.user.is_staff:
        raise Http404
    context = {
        "contribution": contribution,
        "diffs": field_diffs(
            contribution.original, contribution.proposed, selectors.protocol_terms()
        ),
        "comments": [
            c for c in contribution.comments.all() if not c.hidden or request.user.is_staff
        ],
        "events": list(contribution.events.all()),
        "comment_form": comment_form or CommentForm(),
        "decision_form": decision_form or DecisionForm(),
    }
    return render(request, "community/contribution_detail.html", context, status=status)


def contribution_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return _contribution_page(request, pk)


@login_required
@require_POST
def comment_add(request: HttpRequest, pk: int) -> HttpResponse:
    contribution = get_object_or_404(Contribution, pk=pk)
    form = CommentForm(request.POST)
    if form.is_valid():
        try:
            services.comment_add(
                actor=request.user, contribution=contribution, body=form.cleaned_data["body"]
            )
        except ServiceError as exc:
            form.add_error("body", exc.message)
            return _contribution_page(request, pk, status=exc.status_code, comment_form=form)
        return redirect(f"{contribution_url(contribution)}#comments")
    return _contribution_page(request, pk, status=400, comment_form=form)


def contribution_url(contribution: Contribution) -> str:
    return reverse("community:contribution", args=[contribution.pk])


@login_required
@require_POST
def contribution_decide(request: HttpRequest, pk: int, decision: str) -> HttpResponse:
    _staff_only(request)
    contribution = get_object_or_404(Contribution, pk=pk)
    form = DecisionForm(request.POST)
    if form.is_valid():
        reason = form.cleaned_data["reason"]
        try:
            if decision == "accept":
                services.contribution_accept(
                    actor=request.user, contribution=contribution, reason=reason
                )
                messages.success(request, _("Accepted: the component is updated."))
            else:
                services.contribution_reject(
                    actor=request.user, contribution=contribution, reason=reason
                )
                messages.success(request, _("Rejected; the contributor sees your reason."))
        except ServiceError as exc:
            form.add_error("reason", exc.message)
            return _contribution_page(request, pk, status=exc.status_code, decision_form=form)
        return redirect("community:contribution", pk=pk)
    return _contribution_page(request, pk, status=400, decision_form=form)


@login_required
@require_POST
def contribution_withdraw(request: HttpRequest, pk: int) -> HttpResponse:
    contribution = get_object_or_404(Contribution, pk=pk)
    try:
        services.contribution_withdraw(actor=request.user, contribution=contribution)
    except ServiceError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Your proposal is withdrawn; nothing changed."))
    return redirect("community:contribution", pk=pk)


@login_required
@require_POST
def report(request: HttpRequest, pk: int, comment_id: int | None = None) -> HttpResponse:
    contribution = get_object_or_404(Contribution, pk=pk)
    comment = (
        get_object_or_404(Comment, pk=comment_id, contribution=contribution) if comment_id else None
    )
    form = ReportForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Say briefly what is wrong, so that moderators can judge."))
    else:
        try:
            services.abuse_report(
                actor=request.user,
                contribution=contribution,
                comment=comment,
                reason=form.cleaned_data["reason"],
            )
        except ServiceError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, _("Thank you: moderators will look at your report."))
    return redirect("community:contribution", pk=pk)


# --- Moderation and people ----------------------------------------------------------------------


@login_required
def moderation(request: HttpRequest) -> HttpResponse:
    _staff_only(request)
    return render(
        request,
        "community/moderation.html",
        {"contributions": selectors.moderation_queue(), "reports": selectors.open_reports()},
    )


@login_required
@require_POST
def report_resolve(request: HttpRequest, pk: int, decision: str) -> HttpResponse:
    _staff_only(request)
    report_row = get_object_or_404(AbuseReport, pk=pk)
    try:
        services.abuse_report_resolve(
            actor=request.user,
            report=report_row,
            hide=decision == "hide",
            reason=request.POST.get("reason", ""),
        )
    except ServiceError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Report handled."))
    return redirect("community:moderation")


def contributor(request: HttpRequest, user_id: int) -> HttpResponse:
    profile = selectors.contributor_profile(user_id)
    if profile is None:
        raise Http404
    return render(request, "community/contributor.html", {"profile": profile})
