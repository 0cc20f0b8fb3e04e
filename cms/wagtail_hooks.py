"""Admin registrations: the listing chooser, the Menu snippet, and keeping cached menus fresh."""

from django.utils.translation import gettext_lazy as _
from wagtail import hooks
from wagtail.snippets.models import register_snippet
from wagtail.snippets.views.snippets import SnippetViewSet

from cms import selectors
from cms.choosers import listing_chooser_viewset
from cms.models import Menu


@hooks.register("register_admin_viewset")
def register_listing_chooser():
    return listing_chooser_viewset


class MenuViewSet(SnippetViewSet):
    model = Menu
    icon = "list-ul"
    menu_label = _("Menus")
    list_display = ["title", "placement", "position", "locale"]
    list_filter = ["placement", "locale"]
    add_to_admin_menu = True


register_snippet(MenuViewSet)


def _forget_menus(*args, **kwargs):
    selectors.menus_changed()


# A menu links pages: their addresses change when they are moved, renamed or unpublished.
for hook in (
    "after_create_snippet",
    "after_edit_snippet",
    "after_delete_snippet",
    "after_copy_page",
    "after_move_page",
    "after_publish_page",
    "after_unpublish_page",
    "after_delete_page",
):
    hooks.register(hook, _forget_menus)
