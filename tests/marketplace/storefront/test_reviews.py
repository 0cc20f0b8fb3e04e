import pytest
from django.urls import reverse

from marketplace.catalog.models import Review
from tests.factories import ListingFactory, MembershipFactory, ReviewFactory, VendorFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def listing(vendor):
    return ListingFactory(vendor=vendor, name="Loom Vision")


def review_url(listing):
    return reverse("storefront:review_create", args=[listing.slug])


def test_buyer_member_reviews_a_listing(client, listing, buyer, buyer_member):
    client.force_login(buyer_member)
    response = client.post(
        review_url(listing), {"rating": "4", "title": "Works", "body": "Caught 40 defects."}
    )
    assert response.status_code == 302
    assert response["Location"] == f"/catalog/{listing.slug}/#reviews"
    review = Review.objects.get()
    assert (review.organization, review.author, review.rating) == (buyer, buyer_member, 4)
    listing.refresh_from_db()
    assert listing.rating_count == 1
    page = client.get(response["Location"]).content.decode()
    assert "Caught 40 defects." in page
    assert "Thank you: your review is published." in page


def test_reviewing_again_updates_the_review(client, listing, buyer_member):
    client.force_login(buyer_member)
    client.post(review_url(listing), {"rating": "2", "title": "Meh", "body": "Slow."})
    client.post(review_url(listing), {"rating": "5", "title": "Great", "body": "Fixed."})
    assert list(Review.objects.values_list("rating", "title")) == [(5, "Great")]


def test_review_errors_are_shown_with_the_form(client, listing, buyer_member):
    client.force_login(buyer_member)
    response = client.post(review_url(listing), {"rating": "9", "title": "", "body": "x"})
    html = response.content.decode()
    assert response.status_code == 400
    assert "field__errors" in html
    assert "Select a valid choice." in html
    assert "This field is required." in html
    assert not Review.objects.exists()


def test_vendor_cannot_review_its_own_listing(client, vendor, listing):
    vendor.is_buyer = True  # a company that buys and sells still cannot rate itself
    vendor.save()
    member = MembershipFactory(organization=vendor).user
    client.force_login(member)
    response = client.post(review_url(listing), {"rating": "5", "title": "Ours", "body": "Best."})
    assert response.status_code == 403
    assert "A vendor cannot review its own listing." in response.content.decode()
    assert not Review.objects.exists()


def test_vendor_only_organization_cannot_review(client, listing):
    other_vendor_member = MembershipFactory(organization=VendorFactory()).user
    client.force_login(other_vendor_member)
    response = client.post(review_url(listing), {"rating": "1", "title": "Bad", "body": "No."})
    assert response.status_code == 403
    assert not Review.objects.exists()


def test_review_needs_sign_in(client, listing):
    response = client.post(review_url(listing), {"rating": "5", "title": "A", "body": "B"})
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]
    assert not Review.objects.exists()


def test_review_is_post_only(client, listing, buyer_member):
    client.force_login(buyer_member)
    assert client.get(review_url(listing)).status_code == 405


def test_vendor_replies_to_a_review(client, listing, vendor_admin, buyer):
    review = ReviewFactory(listing=listing, organization=buyer, body="Good on line 2.")
    url = reverse("storefront:review_reply", args=[listing.slug, review.pk])
    client.force_login(vendor_admin)
    page = client.get(f"/catalog/{listing.slug}/").content.decode()
    assert f'action="{url}"' in page  # the reply form is under the review
    response = client.post(url, {"reply": "Thanks, glad it helps."})
    assert response.status_code == 302
    review.refresh_from_db()
    assert review.vendor_reply == "Thanks, glad it helps."
    assert review.replied_at is not None
    page = client.get(f"/catalog/{listing.slug}/").content.decode()
    assert "Reply from Lumen Edge" in page
    assert "Thanks, glad it helps." in page


def test_only_the_vendor_can_reply(client, listing, buyer, buyer_member):
    review = ReviewFactory(listing=listing, organization=buyer)
    url = reverse("storefront:review_reply", args=[listing.slug, review.pk])
    client.force_login(buyer_member)
    assert url not in client.get(f"/catalog/{listing.slug}/").content.decode()
    response = client.post(url, {"reply": "I am not the vendor"})
    assert response.status_code == 403
    review.refresh_from_db()
    assert review.vendor_reply == ""


def test_reply_to_a_review_of_another_listing_is_404(client, vendor, listing, vendor_admin, buyer):
    other = ListingFactory(vendor=vendor, name="Other")
    review = ReviewFactory(listing=other, organization=buyer)
    client.force_login(vendor_admin)
    url = reverse("storefront:review_reply", args=[listing.slug, review.pk])
    assert client.post(url, {"reply": "x"}).status_code == 404
