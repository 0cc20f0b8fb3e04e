"""The demo community: contributors, five components they proposed and moderators accepted
(fifteen with the catalog's ten), edits accepted, open and rejected, comments, maintainers, an
SBOM, and reviews that say in how many plants a component runs.

Everything goes through the community services, as people would; the history is then dated
in the past (so the demo accounts are not held back by the rate limits). Running it again
finds each row by its natural key and changes nothing. Accepted edits touch only fields that
seed_catalog does not write (the security contact), so a second run of the catalog seed does
not undo them.
"""

import json
from dataclasses import dataclass
from datetime import timedelta

from allauth.account.models import EmailAddress
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.utils import timezone

from marketplace.accounts.models import Membership, Organization, User
from marketplace.catalog.models import Listing, ListingImage, ListingVersion, Review
from marketplace.community import services
from marketplace.community.models import CommunityEvent, Contribution, Maintainer, Sbom
from marketplace.demo.catalog import screenshot_png


@dataclass(frozen=True)
class DemoContributor:
    email: str
    first_name: str
    last_name: str


CONTRIBUTORS = [
    DemoContributor("chen.jing@demo.test", "Jing", "Chen"),
    DemoContributor("marta.kowalska@demo.test", "Marta", "Kowalska"),
    DemoContributor("ravi.iyer@demo.test", "Ravi", "Iyer"),
]

NEW_COMPONENTS = [
    # (contributor email, why, values)
    (
        "chen.jing@demo.test",
        "We run it on 40 injection-moulding machines; the repository has had releases every "
        "quarter since 2023.",
        {
            "name": "MTConnect Adapter Kit",
            "tagline": "Turns machine-tool signals into an MTConnect stream",
            "description": "Adapters for common CNC controllers that publish **MTConnect** "
            "data items, with a small agent for buffering.\n\n- SHDR and MQTT output\n"
            "- Runs on a 256 MB gateway",
            "license": "Apache-2.0",
            "repository_url": "https://github.com/example/mtconnect-adapter-kit",
            "security_contact": "security@mtconnect-kit.example",
            "edge_hardware": "Raspberry Pi 4, Advantech UNO-2271G",
            "protocols": ["mqtt"],
        },
    ),
    (
        "marta.kowalska@demo.test",
        "Used by several textile mills in Łódź for their OPC UA historians.",
        {
            "name": "OPC UA PubSub Logger",
            "tagline": "Records OPC UA PubSub traffic to Parquet files",
            "description": "Subscribes to UADP or JSON PubSub messages and writes them to "
            "hourly Parquet files for later analysis.",
            "license": "MPL-2.0",
            "repository_url": "https://github.com/example/opcua-pubsub-logger",
            "security_contact": "https://github.com/example/opcua-pubsub-logger/security",
            "edge_hardware": "Siemens IOT2050",
            "protocols": ["opc-ua", "mqtt"],
        },
    ),
    (
        "ravi.iyer@demo.test",
        "The only maintained IO-Link reader with a permissive licence that I know of.",
        {
            "name": "IO-Link Master Reader",
            "tagline": "Reads IO-Link sensor data through common IO-Link masters",
            "description": "Talks to IO-Link masters over their JSON REST interface and maps "
            "process data with IODD files.",
            "license": "BSD-3-Clause",
            "repository_url": "https://github.com/example/iolink-reader",
            "edge_hardware": "Any Linux gateway",
            "protocols": ["mqtt"],
        },
    ),
    (
        "chen.jing@demo.test",
        "Needed for the building-energy part of our plant; BACnet is everywhere in HVAC.",
        {
            "name": "BACnet Energy Reader",
            "tagline": "Polls BACnet/IP meters and HVAC controllers",
            "description": "Discovers BACnet/IP devices, reads present values on a schedule "
            "and publishes them as MQTT topics.",
            "license": "GPL-3.0-or-later",
            "repository_url": "https://github.com/example/bacnet-energy-reader",
            "protocols": ["mqtt"],
        },
    ),
    (
        "marta.kowalska@demo.test",
        "A tiny, well-tested PROFINET DCP scanner; we use it for asset inventories.",
        {
            "name": "PROFINET Asset Scanner",
            "tagline": "Finds every PROFINET device on a line and lists its firmware",
            "description": "Sends DCP identify requests and reads I&M records to build an "
            "asset inventory as CSV or JSON.",
            "license": "Apache-2.0",
            "repository_url": "https://github.com/example/profinet-asset-scanner",
            "security_contact": "psirt@profinet-scanner.example",
            "edge_hardware": "Any x86 box with a spare NIC",
            "protocols": ["profinet"],
        },
    ),
]

EDITS = [
    # (contributor email, component slug, why, values, outcome, moderator's reason, comments)
    (
        "ravi.iyer@demo.test",
        "modbuslink",
        "The project has a SECURITY.md with a private address.",
        {"security_contact": "security@openfab.example"},
        "accepted",
        "Matches the repository.",
        [("marta.kowalska@demo.test", "Confirmed: the address is in SECURITY.md.")],
    ),
    (
        "chen.jing@demo.test",
        "edgetsdb",
        "Advisories are published on GitHub; that is where to report privately.",
        {"security_contact": "https://github.com/openfab/edgetsdb/security/advisories"},
        "accepted",
        "",
        [],
    ),
    (
        "marta.kowalska@demo.test",
        "s7-connect",
        "It also reads over MQTT through its gateway mode.",
        {"protocols": ["siemens-s7", "mqtt"]},
        "open",
        "",
        [("ravi.iyer@demo.test", "Is gateway mode part of the open-source edition?")],
    ),
    (
        "ravi.iyer@demo.test",
        "ethernetip-scanner",
        "The licence changed.",
        {"license": "MIT"},
        "rejected",
        "The repository still says BSD-3-Clause; please link the change.",
        [],
    ),
]

REVIEWS = [
    # (component slug, buyer organization slug, rating, title, body, plants or None)
    ("modbuslink", "huaxin-precision", 5, "Runs untouched for months",
     "Polls 1,200 registers per second on a 10-year-old gateway.", 3),
    ("modbuslink", "jiangnan-textiles", 4, "Easy register maps",
     "The YAML maps are easy to review with the electricians.", None),
    ("mtconnect-adapter-kit", "huaxin-precision", 4, "Good CNC coverage",
     "Worked with our FANUC and Siemens controllers.", 2),
    ("opc-ua-pubsub-logger", "jiangnan-textiles", 5, "Cheap historian",
     "Parquet files are all our data team needed.", 1),
    ("edgetsdb", "huaxin-precision", 4, "Small and quick", "Fits on the line PCs.", 5),
]  # fmt: skip

SBOM = {
    "bomFormat": "CycloneDX",
    "specVersion": "1.5",
    "version": 1,
    "components": [
        {"type": "library", "name": "github.com/eclipse/paho.mqtt.golang", "version": "1.4.3",
         "licenses": [{"license": {"id": "EPL-2.0"}}]},
        {"type": "library", "name": "github.com/goburrow/modbus", "version": "0.1.0",
         "licenses": [{"license": {"id": "BSD-3-Clause"}}]},
        {"type": "library", "name": "gopkg.in/yaml.v3", "version": "3.0.1",
         "licenses": [{"expression": "MIT AND Apache-2.0"}]},
        {"type": "library", "name": "github.com/prometheus/client_golang", "version": "1.19.0",
         "licenses": [{"license": {"id": "Apache-2.0"}}]},
    ],
}  # fmt: skip


def _seed_contributors(password: str) -> dict[str, User]:
    people = {}
    joined = timezone.now() - timedelta(days=400)
    for spec in CONTRIBUTORS:
        user, created = User.objects.get_or_create(
            email=spec.email,
            defaults={"first_name": spec.first_name, "last_name": spec.last_name},
        )
        if created:
            user.date_joined = joined
            user.set_password(password)
            user.save()
            EmailAddress.objects.get_or_create(
                user=user, email=spec.email, defaults={"verified": True, "primary": True}
            )
        people[spec.email] = user
    return people


def _date(contribution: Contribution, days_ago: int) -> None:
    """Move a freshly seeded contribution and its history into the past."""
    when = timezone.now() - timedelta(days=days_ago)
    Contribution.objects.filter(pk=contribution.pk).update(created_at=when)
    if contribution.decided_at:
        Contribution.objects.filter(pk=contribution.pk).update(decided_at=when + timedelta(days=1))
    contribution.comments.update(created_at=when + timedelta(hours=5))
    CommunityEvent.objects.filter(contribution=contribution, action="proposed").update(
        created_at=when
    )
    CommunityEvent.objects.filter(contribution=contribution).exclude(action="proposed").update(
        created_at=when + timedelta(days=1)
    )


def _picture(listing: Listing, *, seed: int) -> None:
    """A screenshot, as every demo listing has one (catalog cards show it)."""
    if listing.images.exists():
        return
    picture = ListingImage(listing=listing, caption="Overview", position=0)
    png = screenshot_png(listing.name, "Overview", (38, 84, 124), seed)
    picture.image.save(f"{listing.slug}-1.png", ContentFile(png), save=False)
    picture.width, picture.height = 960, 600
    picture.save()


@transaction.atomic
def seed_community(*, password: str, staff: User) -> None:
    people = _seed_contributors(password)
    days_ago = 60
    for email, why, values in NEW_COMPONENTS:
        days_ago -= 3
        author = people[email]
        if Contribution.objects.filter(author=author, summary=why).exists():
            continue
        contribution = services.contribution_propose_new(actor=author, summary=why, values=values)
        contribution = services.contribution_accept(
            actor=staff, contribution=contribution, reason="Checked the repository and licence."
        )
        _date(contribution, days_ago)
        _picture(contribution.listing, seed=days_ago)
    for email, slug, why, values, outcome, reason, comments in EDITS:
        days_ago -= 3
        author = people[email]
        listing = Listing.objects.filter(slug=slug).first()
        if listing is None or Contribution.objects.filter(author=author, summary=why).exists():
            continue
        contribution = services.contribution_propose_edit(
            actor=author, listing=listing, summary=why, values=values
        )
        for commenter, body in comments:
            services.comment_add(actor=people[commenter], contribution=contribution, body=body)
        if outcome == "accepted":
            contribution = services.contribution_accept(
                actor=staff, contribution=contribution, reason=reason
            )
        elif outcome == "rejected":
            contribution = services.contribution_reject(
                actor=staff, contribution=contribution, reason=reason
            )
        _date(contribution, days_ago)
    modbuslink = Listing.objects.filter(slug="modbuslink").first()
    if modbuslink is not None:
        Maintainer.objects.get_or_create(listing=modbuslink, user=people["ravi.iyer@demo.test"])
        version = ListingVersion.objects.filter(listing=modbuslink).order_by("-released_on").first()
        if version is not None and not Sbom.objects.filter(version=version).exists():
            services.sbom_upload(
                actor=people["ravi.iyer@demo.test"],
                version=version,
                upload=SimpleUploadedFile("modbuslink.cdx.json", json.dumps(SBOM).encode()),
            )
    for slug, organization_slug, rating, title, body, plants in REVIEWS:
        listing = Listing.objects.filter(slug=slug).first()
        organization = Organization.objects.filter(slug=organization_slug).first()
        if listing is None or organization is None:
            continue
        existing = Review.objects.filter(listing=listing, organization=organization)
        if existing.exists():
            # A catalog review of the same buyer: the buyer opts in to show its plants.
            existing.exclude(production_plants=plants).update(production_plants=plants)
            continue
        author = Membership.objects.filter(organization=organization).order_by("pk").first().user
        services.component_review(
            actor=author, organization=organization, listing=listing, rating=rating,
            title=title, body=body, production_plants=plants,
        )  # fmt: skip
