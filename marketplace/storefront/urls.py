from django.urls import path

from marketplace.storefront import views

app_name = "storefront"

urlpatterns = [
    path("", views.catalog, name="catalog"),
    # Before the listing pattern: "compare" is not a listing.
    path("compare/", views.compare, name="compare"),
    path("<slug:slug>/", views.listing_detail, name="listing"),
    path("<slug:slug>/reviews/", views.review_create, name="review_create"),
    path("<slug:slug>/reviews/<int:pk>/reply/", views.review_reply, name="review_reply"),
]
