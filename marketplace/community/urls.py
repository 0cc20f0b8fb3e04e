from django.urls import path

from marketplace.community import views

app_name = "community"

urlpatterns = [
    path("", views.component_list, name="components"),
    path("propose/", views.propose_new, name="propose"),
    path("moderation/", views.moderation, name="moderation"),
    path(
        "moderation/reports/<int:pk>/hide/",
        views.report_resolve,
        {"decision": "hide"},
        name="report_hide",
    ),
    path(
        "moderation/reports/<int:pk>/dismiss/",
        views.report_resolve,
        {"decision": "dismiss"},
        name="report_dismiss",
    ),
    path("components/<slug:slug>/", views.component_detail, name="component"),
    path("components/<slug:slug>/edit/", views.propose_edit, name="propose_edit"),
    path("components/<slug:slug>/versions/", views.version_add, name="version_add"),
    path(
        "components/<slug:slug>/versions/<int:version_id>/sbom/",
        views.sbom_upload,
        name="sbom_upload",
    ),
    path(
        "components/<slug:slug>/versions/<int:version_id>/sbom.json",
        views.sbom_download,
        name="sbom_download",
    ),
    path("components/<slug:slug>/review/", views.review, name="review"),
    path("contributions/<int:pk>/", views.contribution_detail, name="contribution"),
    path("contributions/<int:pk>/comments/", views.comment_add, name="comment_add"),
    path(
        "contributions/<int:pk>/accept/",
        views.contribution_decide,
        {"decision": "accept"},
        name="contribution_accept",
    ),
    path(
        "contributions/<int:pk>/reject/",
        views.contribution_decide,
        {"decision": "reject"},
        name="contribution_reject",
    ),
    path(
        "contributions/<int:pk>/withdraw/",
        views.contribution_withdraw,
        name="contribution_withdraw",
    ),
    path("contributions/<int:pk>/report/", views.report, name="report"),
    path(
        "contributions/<int:pk>/comments/<int:comment_id>/report/",
        views.report,
        name="comment_report",
    ),
    path("contributors/<int:user_id>/", views.contributor, name="contributor"),
]
