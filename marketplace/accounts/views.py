"""Pages for organizations: create, switch, settings, members and invitations."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from marketplace.accounts import selectors, services
from marketplace.accounts.forms import InvitationForm, OrganizationForm, RoleForm
from marketplace.accounts.middleware import ACTIVE_ORGANIZATION_SESSION_KEY
from marketplace.accounts.models import Invitation, Membership
from marketplace.accounts.policies import (
    Permission,
    membership_in,
    object_for,
    organization_for,
    role_allows,
)
from marketplace.errors import ServiceError


@login_required
def dashboard(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "accounts/dashboard.html",
        {"memberships": selectors.memberships_of(request.user)},
    )


@login_required
def organization_create(request: HttpRequest) -> HttpResponse:
    form = OrganizationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            organization = services.organization_create(owner=request.user, **form.cleaned_data)
        except ServiceError as exc:
            form.add_error(None, exc.message)
        else:
            request.session[ACTIVE_ORGANIZATION_SESSION_KEY] = organization.pk
            messages.success(request, _("%(name)s is ready.") % {"name": organization.name})
            return redirect("accounts:organization", slug=organization.slug)
    return render(request, "accounts/organization_form.html", {"form": form, "creating": True})


@login_required
@require_POST
def organization_switch(request: HttpRequest) -> HttpResponse:
    organization = organization_for(request.user, request.POST.get("organization", ""))
    request.session[ACTIVE_ORGANIZATION_SESSION_KEY] = organization.pk
    messages.info(request, _("You are now acting for %(name)s.") % {"name": organization.name})
    target = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(target, {request.get_host()}, request.is_secure()):
        target = reverse("accounts:dashboard")
    return redirect(target)


@login_required
def organization_detail(request: HttpRequest, slug: str) -> HttpResponse:
    membership = membership_in(request.user, slug)
    organization = membership.organization
    can_manage = role_allows(membership.role, Permission.MANAGE_MEMBERS)
    return render(
        request,
        "accounts/organization_detail.html",
        {
            "organization": organization,
            "members": selectors.members_of(organization),
            "invitations": selectors.pending_invitations_of(organization) if can_manage else [],
            "can_manage": can_manage,
            "can_edit": role_allows(membership.role, Permission.EDIT_ORGANIZATION),
            "invitation_form": InvitationForm(),
            "role_choices": RoleForm.base_fields["role"].choices,
        },
    )


@login_required
def organization_settings(request: HttpRequest, slug: str) -> HttpResponse:
    organization = organization_for(request.user, slug, Permission.EDIT_ORGANIZATION)
    form = OrganizationForm(request.POST or None, instance=organization)
    if request.method == "POST" and form.is_valid():
        try:
            services.organization_update(
                actor=request.user, organization=organization, **form.cleaned_data
            )
        except ServiceError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, _("Settings saved."))
            return redirect("accounts:organization", slug=organization.slug)
    return render(
        request,
        "accounts/organization_form.html",
        {"form": form, "organization": organization, "creating": False},
    )


def _back_to(organization) -> HttpResponse:
    return redirect("accounts:organization", slug=organization.slug)


@login_required
@require_POST
def invitation_create(request: HttpRequest, slug: str) -> HttpResponse:
    organization = organization_for(request.user, slug, Permission.MANAGE_MEMBERS)
    form = InvitationForm(request.POST)
    if not form.is_valid():
        for errors in form.errors.values():
            messages.error(request, " ".join(errors))
        return _back_to(organization)
    try:
        invitation = services.invitation_create(
            actor=request.user, organization=organization, **form.cleaned_data
        )
    except ServiceError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Invitation sent to %(email)s.") % {"email": invitation.email})
    return _back_to(organization)


@login_required
@require_POST
def invitation_revoke(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    organization = organization_for(request.user, slug, Permission.MANAGE_MEMBERS)
    invitation = object_for(
        Invitation.objects.all(), request.user, pk=pk, organization=organization
    )
    try:
        services.invitation_revoke(actor=request.user, invitation=invitation)
    except ServiceError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Invitation revoked."))
    return _back_to(organization)


@login_required
@require_POST
def membership_role(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    organization = organization_for(request.user, slug, Permission.MANAGE_MEMBERS)
    membership = object_for(
        Membership.objects.all(), request.user, pk=pk, organization=organization
    )
    form = RoleForm(request.POST)
    if form.is_valid():
        try:
            services.membership_change_role(
                actor=request.user, membership=membership, role=form.cleaned_data["role"]
            )
        except ServiceError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, _("Role changed."))
    return _back_to(organization)


@login_required
@require_POST
def membership_remove(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    organization = organization_for(request.user, slug)
    membership = object_for(
        Membership.objects.all(), request.user, pk=pk, organization=organization
    )
    try:
        services.membership_remove(actor=request.user, membership=membership)
    except ServiceError as exc:
        messages.error(request, exc.message)
        return _back_to(organization)
    if membership.user_id == request.user.pk:
        messages.success(request, _("You left %(name)s.") % {"name": organization.name})
        return redirect("accounts:dashboard")
    messages.success(request, _("Member removed."))
    return _back_to(organization)


def invitation_detail(request: HttpRequest, key: str) -> HttpResponse:
    invitation = selectors.open_invitation(key)
    if invitation is None:
        return render(request, "accounts/invitation_closed.html", status=404)
    if request.method == "POST" and request.user.is_authenticated:
        try:
            services.invitation_accept(invitation=invitation, user=request.user)
        except ServiceError as exc:
            messages.error(request, exc.message)
        else:
            request.session[ACTIVE_ORGANIZATION_SESSION_KEY] = invitation.organization_id
            messages.success(
                request, _("Welcome to %(name)s.") % {"name": invitation.organization.name}
            )
            return redirect("accounts:organization", slug=invitation.organization.slug)
    return render(request, "accounts/invitation.html", {"invitation": invitation})
