import pytest
from allauth.account.models import EmailAddress
from allauth.mfa.models import Authenticator
from django.core.management import CommandError, call_command
from django.test import Client
from wagtail.models import Page, Revision

from billing import selectors
from billing.models import PlanVersion, Subscription, UsageEvent
from marketplace.accounts.models import Membership, Organization, User
from marketplace.catalog.models import (
    KpiClaim,
    Listing,
    ListingImage,
    ListingVersion,
    ModerationEvent,
    Review,
)

pytestmark = pytest.mark.django_db


def _snapshot():
    return {
        "users": sorted(User.objects.values_list("email", "first_name", "is_staff", "password")),
        "emails": sorted(EmailAddress.objects.values_list("email", "verified", "primary")),
        "organizations": sorted(
            Organization.objects.values_list("slug", "name", "is_buyer", "is_vendor", "time_zone")
        ),
        "memberships": sorted(
            Membership.objects.values_list("user__email", "organization__slug", "role")
        ),
        "authenticators": sorted(Authenticator.objects.values_list("user__email", "type")),
        "pages": sorted(Page.objects.values_list("url_path", "locale__language_code", "live")),
        "revisions": Revision.objects.count(),
        "listings": sorted(
            Listing.objects.values_list(
                "slug", "status", "updated_at", "published_at", "rating_average", "search_document"
            )
        ),
        "listing_terms": Listing.terms.through.objects.count(),
        "components": Listing.components.through.objects.count(),
        "versions": sorted(ListingVersion.objects.values_list("pk", "version", "artifact_sha256")),
        "images": sorted(ListingImage.objects.values_list("pk", "image", "width")),
        "claims": sorted(KpiClaim.objects.values_list("pk", "label", "value")),
        "reviews": sorted(Review.objects.values_list("pk", "rating", "title")),
        "moderation": ModerationEvent.objects.count(),
        "plans": sorted(PlanVersion.objects.values_list("plan__listing__slug", "number")),
        "subscriptions": sorted(Subscription.objects.values_list("buyer__slug", "status")),
        "usage_events": UsageEvent.objects.count(),
    }


def test_seed_demo_refuses_under_production_settings(settings):
    settings.PRECIS_ENVIRONMENT = "production"
    with pytest.raises(CommandError, match="refuses to run under production"):
        call_command("seed_demo")
    assert not User.objects.exists()


# Seeding takes seconds: the tests below share one seed of the empty database (`seeded_demo`),
# rolled back after the class; whatever a test changes is undone before the next one.
@pytest.mark.usefixtures("seeded_demo")
class TestTheSeededDemo:
    def test_seed_demo_twice_leaves_the_same_data(self):
        first = _snapshot()  # after the first run, on the empty database
        call_command("seed_demo")  # the second run
        assert _snapshot() == first
        assert {"buyer@demo.test", "vendor@demo.test", "staff@demo.test"} <= {
            email for email, *_ in first["users"]
        }

    def test_demo_catalog_is_large_and_varied_enough_to_explore(self):
        published = Listing.objects.filter(status="published")
        assert published.count() >= 40
        assert published.values("vendor").distinct().count() >= 8
        assert published.filter(kind="component").count() >= 10
        assert all(listing.images.exists() for listing in published)
        assert ListingVersion.objects.count() >= 40
        assert Review.objects.count() >= 8

    def test_demo_solutions_have_plans_and_the_demo_buyer_a_trial_with_usage(self):
        from django.utils import timezone

        solutions = Listing.objects.filter(status="published", kind="solution")
        assert all(listing.plans.filter(is_published=True).exists() for listing in solutions)
        trial = Subscription.objects.get(buyer__slug="huaxin-precision", status="trialing")
        assert trial.status == "trialing"
        summary = selectors.usage_summary(trial, now=timezone.now())
        assert all(metric["quantity"] != "0" for metric in summary["metrics"])
        assert summary["would_have_paid"]["total"] != "0.00"

    def test_demo_accounts_sign_in_with_the_demo_password(self, monkeypatch):
        monkeypatch.setenv("PRECIS_DEMO_PASSWORD", "another-demo-secret")
        # Seeding again with another password sets it (a re-run takes a fraction of the first).
        call_command("seed_demo")
        client = Client()
        response = client.post(
            "/accounts/login/", {"login": "buyer@demo.test", "password": "another-demo-secret"}
        )
        assert response.status_code == 302
        assert "_auth_user_id" in client.session

    def test_the_demo_buyer_pays_for_a_plan_with_closed_periods_and_an_open_statement(self):
        from billing.models import Invoice, OutcomeStatement, Payout

        call_command("seed_demo")  # idempotent: the second run, after the shared first one
        paid = Subscription.objects.get(buyer__slug="huaxin-precision", status="active")
        statuses = list(paid.invoices.order_by("period_end").values_list("status", flat=True))
        assert statuses == [Invoice.Status.PAID, Invoice.Status.ISSUED, Invoice.Status.DRAFT]
        open_statement = paid.outcome_statements.get(status=OutcomeStatement.Status.OPEN)
        assert open_statement.lines.filter(baseline__isnull=False).exists()  # scrap vs baseline
        assert paid.outcome_statements.filter(status=OutcomeStatement.Status.SETTLED).count() == 1
        # The vendor's payout statement holds the paid invoice, once.
        first = paid.invoices.order_by("period_end").first()
        (payout,) = Payout.objects.filter(vendor=paid.plan_version.plan.listing.vendor)
        assert list(payout.lines.values_list("invoice", flat=True)) == [first.pk]
        assert payout.amount == first.total - first.platform_fee
