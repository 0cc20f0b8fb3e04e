import pytest

from marketplace.demo.cms import seed_cms
from tests.factories import ListingFactory, VendorFactory

# Listings the demo's case studies and home page link (by slug).
DEMO_LISTINGS = {
    "Tiangong Fabric Inspect": "solution",
    "Lumen Inspect": "solution",
    "Voltwise Compressed Air": "solution",
    "Voltwise Meter": "solution",
    "ModbusLink": "component",
    "EdgeTSDB": "component",
}


@pytest.fixture
def demo_listings(db):
    vendor = VendorFactory(name="Demo Vendor")
    return {
        name: ListingFactory(vendor=vendor, name=name, kind=kind)
        for name, kind in DEMO_LISTINGS.items()
    }


@pytest.fixture
def cms_content(demo_listings):
    seed_cms()
    return demo_listings
