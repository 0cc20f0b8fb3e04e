"""Template helpers of the community pages."""

from django import template
from django.utils.translation import gettext as _

from marketplace.accounts.models import User

register = template.Library()


@register.filter
def public_name(user: User | None) -> str:
    """How a person appears on public pages: their name, never their email address."""
    if user is None:
        return _("Former member")
    return user.get_full_name() or _("Contributor %(n)d") % {"n": user.pk}
