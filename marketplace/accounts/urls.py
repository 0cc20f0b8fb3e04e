from django.urls import path

from marketplace.accounts import views

app_name = "accounts"

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("new/", views.organization_create, name="organization_create"),
    path("switch/", views.organization_switch, name="organization_switch"),
    path("invitations/<str:key>/", views.invitation_detail, name="invitation"),
    path("<slug:slug>/", views.organization_detail, name="organization"),
    path("<slug:slug>/settings/", views.organization_settings, name="organization_settings"),
    path("<slug:slug>/invitations/", views.invitation_create, name="invitation_create"),
    path(
        "<slug:slug>/invitations/<int:pk>/revoke/",
        views.invitation_revoke,
        name="invitation_revoke",
    ),
    path("<slug:slug>/members/<int:pk>/role/", views.membership_role, name="membership_role"),
    path("<slug:slug>/members/<int:pk>/remove/", views.membership_remove, name="membership_remove"),
]
