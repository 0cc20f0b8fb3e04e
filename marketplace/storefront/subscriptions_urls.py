"""A buyer's subscriptions, mounted at /subscriptions/ (inside i18n_patterns)."""

from django.urls import path

from marketplace.storefront import subscriptions as views

app_name = "subscriptions"

urlpatterns = [
    path("", views.subscription_list, name="list"),
    path("start/", views.subscription_start, name="start"),
    path("<int:pk>/", views.subscription_detail, name="detail"),
    path("<int:pk>/usage/", views.subscription_usage, name="usage"),
    path("<int:pk>/invoice-terms/", views.subscription_accept_terms, name="accept_terms"),
    path("<int:pk>/resume/", views.subscription_resume, name="resume"),
    path("<int:pk>/keep/", views.subscription_keep, name="keep"),
    path("<int:pk>/pause/", views.subscription_pause, name="pause"),
    path("<int:pk>/cancel/", views.subscription_cancel, name="cancel"),
    path("<int:pk>/plan/", views.subscription_change_plan, name="change_plan"),
    path("<int:pk>/installations/new/", views.installation_create, name="installation_create"),
    path(
        "<int:pk>/installations/<int:installation_pk>/key/",
        views.installation_key,
        name="installation_key",
    ),
    path(
        "<int:pk>/installations/<int:installation_pk>/rotate/",
        views.installation_rotate,
        name="installation_rotate",
    ),
    path(
        "<int:pk>/installations/<int:installation_pk>/revoke/",
        views.installation_revoke,
        name="installation_revoke",
    ),
]
