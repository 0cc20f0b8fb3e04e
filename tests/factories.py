"""factory_boy factories shared by the whole suite."""

import factory
from allauth.account.models import EmailAddress
from django.utils import timezone
from django.utils.text import slugify

from marketplace.accounts.models import Membership, Organization, Role, User
from marketplace.catalog.models import KpiClaim, Listing, ListingImage, ListingVersion, Review, Term
from marketplace.catalog.services import listing_search_document

PASSWORD = "correct-horse-battery-staple"


class UserFactory(factory.django.DjangoModelFactory):
    """A person with a verified email address (pass verified=False for one still unconfirmed)."""

    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"person{n}@example.com")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    password = factory.django.Password(PASSWORD)

    @factory.post_generation
    def verified(self, create, extracted, **kwargs):
        if create:
            EmailAddress.objects.create(
                user=self, email=self.email, primary=True, verified=extracted is not False
            )


class OrganizationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Organization

    name = factory.Sequence(lambda n: f"Plant Works {n}")
    slug = factory.Sequence(lambda n: f"plant-works-{n}")
    is_buyer = True
    is_vendor = False


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    user = factory.SubFactory(UserFactory)
    organization = factory.SubFactory(OrganizationFactory)
    role = Role.MEMBER


# --- Catalog ------------------------------------------------------------------------------------


def term(kind: str, slug: str) -> Term:
    """A facet value seeded by the taxonomy migration, e.g. term("industry", "textiles")."""
    return Term.objects.get(kind=kind, slug=slug)


class VendorFactory(OrganizationFactory):
    """A vendor organization; VendorFactory(verified=True) for one Precis staff verified."""

    name = factory.Sequence(lambda n: f"Edge Software {n}")
    slug = factory.Sequence(lambda n: f"edge-software-{n}")
    is_buyer = False
    is_vendor = True

    class Params:
        verified = factory.Trait(
            verification_status=Organization.Verification.VERIFIED,
            legal_name=factory.LazyAttribute(lambda o: f"{o.name} Co., Ltd."),
            registration_number=factory.Sequence(lambda n: f"91310000MA1K{n:06d}"),
            verification_requested_at=factory.LazyFunction(timezone.now),
            verified_at=factory.LazyFunction(timezone.now),
        )


class ListingFactory(factory.django.DjangoModelFactory):
    """A published listing, written directly (pass status=... for another state).

    Pass terms=[term(...), ...] to tag it; its search document is kept as the services keep it.
    """

    class Meta:
        model = Listing
        skip_postgeneration_save = True

    vendor = factory.SubFactory(VendorFactory)
    kind = Listing.Kind.SOLUTION
    name = factory.Sequence(lambda n: f"Line Monitor {n}")
    slug = factory.LazyAttribute(lambda o: slugify(o.name))
    tagline = "Counts stops on a production line"
    description = "Connects to the PLC and **counts** every stop."
    status = Listing.Status.PUBLISHED
    published_at = factory.LazyAttribute(
        lambda o: timezone.now() if o.status == Listing.Status.PUBLISHED else None
    )
    deploy_minutes = 15
    min_ram_mb = 512
    license = factory.LazyAttribute(
        lambda o: "Apache-2.0" if o.kind == Listing.Kind.COMPONENT else ""
    )

    @factory.post_generation
    def terms(self, create, extracted, **kwargs):
        if not create:
            return
        if extracted:
            self.terms.set(extracted)
        self.search_document = listing_search_document(self)
        self.save(update_fields=["search_document"])


class ListingImageFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ListingImage

    listing = factory.SubFactory(ListingFactory)
    image = factory.django.ImageField(width=320, height=180, color="teal", format="PNG")
    caption = "Dashboard"


class ListingVersionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ListingVersion

    listing = factory.SubFactory(ListingFactory)
    version = factory.Sequence(lambda n: f"1.{n}.0")
    changelog = "- Faster start-up"
    artifact_sha256 = "0123456789abcdef" * 4


class KpiClaimFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = KpiClaim

    listing = factory.SubFactory(ListingFactory)
    label = "Unplanned stops"
    value = "-30%"
    evidence_url = "https://example.com/case-study"


class ReviewFactory(factory.django.DjangoModelFactory):
    """A review row (catalog.services.review_create also refreshes the listing's rating)."""

    class Meta:
        model = Review

    listing = factory.SubFactory(ListingFactory)
    organization = factory.SubFactory(OrganizationFactory)
    author = factory.SubFactory(UserFactory)
    rating = 4
    title = "Paid for itself"
    body = "Installed on line 2 in an afternoon."
