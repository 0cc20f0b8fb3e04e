"""The demo community: fifteen components with contributions and reviews, seeded idempotently."""

from marketplace.catalog.models import Listing, Review
from marketplace.community.models import Comment, CommunityEvent, Contribution, Maintainer, Sbom
from marketplace.demo.catalog import seed_catalog
from marketplace.demo.community import seed_community
from marketplace.demo.seed import seed_organizations, seed_users


def snapshot():
    return {
        "components": sorted(
            Listing.objects.filter(kind="component").values_list(
                "slug", "status", "updated_at", "security_contact", "rating_count"
            )
        ),
        "contributions": sorted(Contribution.objects.values_list("pk", "status", "created_at")),
        "comments": Comment.objects.count(),
        "events": CommunityEvent.objects.count(),
        "maintainers": Maintainer.objects.count(),
        "sboms": sorted(Sbom.objects.values_list("pk", "sha256")),
        "reviews": sorted(Review.objects.values_list("pk", "production_plants")),
    }


def test_seed_community_twice_leaves_the_same_data(db, client):
    users = seed_users(password="precis-demo", organizations=seed_organizations())
    staff = users["staff@demo.test"]
    seed_catalog(staff=staff)
    seed_community(password="precis-demo", staff=staff)
    first = snapshot()
    seed_catalog(staff=staff)
    seed_community(password="precis-demo", staff=staff)
    assert snapshot() == first

    components = Listing.objects.filter(kind="component", status="published")
    assert components.count() == 15
    statuses = set(Contribution.objects.values_list("status", flat=True))
    assert statuses == {"accepted", "open", "rejected"}
    assert Review.objects.filter(production_plants__isnull=False).count() >= 3
    page = client.get("/community/components/modbuslink/").content.decode()
    assert "security@openfab.example" in page
    assert "Used in production at 3 plants" in page
    assert "github.com/goburrow/modbus" in page  # the SBOM's dependency table
