"""Billing pages, mounted at /billing/ (inside i18n_patterns): the buyer's dashboard, and the
invoices and outcome statements that buyers and vendors share."""

from django.urls import path

from marketplace.storefront import billing_views as views
from marketplace.storefront import cards

app_name = "billing"

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("baselines/propose/", views.baseline_propose, name="baseline_propose"),
    path("baselines/<int:pk>/agree/", views.baseline_agree, name="baseline_agree"),
    path("cards/", cards.card_list, name="card_list"),
    path("cards/added/", cards.card_added, name="card_added"),
    path("cards/<int:pk>/default/", cards.card_default, name="card_default"),
    path("cards/<int:pk>/remove/", cards.card_remove, name="card_remove"),
    path("invoices/", views.invoice_list, name="invoice_list"),
    path("invoices/export.csv", views.invoices_csv, name="invoices_csv"),
    path("invoices/<int:pk>/", views.invoice_detail, name="invoice_detail"),
    path("invoices/<int:pk>/pdf/", views.invoice_pdf_download, name="invoice_pdf"),
    path("invoices/<int:pk>/csv/", views.invoice_csv, name="invoice_csv"),
    path(
        "invoices/<int:pk>/confirm-payment/",
        cards.invoice_confirm_payment,
        name="invoice_confirm_payment",
    ),
    path("invoices/<int:pk>/paid/", views.invoice_mark_paid, name="invoice_mark_paid"),
    path("invoices/<int:pk>/close/", views.invoice_close, name="invoice_close"),
    path("invoices/<int:pk>/credit-notes/", views.credit_note_create, name="credit_note_create"),
    path("statements/<int:pk>/", views.statement_detail, name="statement_detail"),
    path(
        "statements/<int:pk>/lines/<int:line_pk>/events/",
        views.line_events,
        name="line_events",
    ),
    path("statements/<int:pk>/lines/<int:line_pk>/accept/", views.line_accept, name="line_accept"),
    path(
        "statements/<int:pk>/lines/<int:line_pk>/dispute/",
        views.line_dispute,
        name="line_dispute",
    ),
    path("statements/<int:pk>/lines/<int:line_pk>/answer/", views.line_answer, name="line_answer"),
    path("statements/<int:pk>/lines/<int:line_pk>/decide/", views.line_decide, name="line_decide"),
]
