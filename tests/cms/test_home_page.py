import pytest

pytestmark = pytest.mark.django_db


def test_home_page_is_served_at_the_root_right_after_migrate(client):
    response = client.get("/")
    assert response.status_code == 200
    assert "Small, fast, light, precise software for your plant" in response.content.decode()


# Seeding takes seconds: the tests below share one seed (`seeded_demo`), rolled back after the
# class, while the test above sees the database as migrate left it.
@pytest.mark.usefixtures("seeded_demo")
class TestTheSeededHomePage:
    def test_switching_language_shows_the_chinese_home_page(self, client):
        english = client.get("/").content.decode()
        assert 'href="/zh-hans/" hreflang="zh-hans"' in " ".join(english.split())
        page = client.get("/zh-hans/").content.decode()
        assert '<html lang="zh-hans"' in page
        assert "为您的工厂提供小、快、轻、准的工业软件" in page
        # The Chinese page links back to the English one.
        assert 'href="/" hreflang="en"' in " ".join(page.split())

    @pytest.mark.parametrize("path", ["/", "/zh-hans/", "/accounts/login/", "/accounts/signup/"])
    def test_pages_load_every_asset_from_the_site_itself(self, client, path):
        import re

        html = client.get(path).content.decode()
        assets = re.findall(r'<(?:script|img)[^>]*\ssrc="([^"]+)"', html) + re.findall(
            r'<link[^>]*\shref="([^"]+)"', html
        )
        assert assets, "the page loads no assets at all"
        external = [
            url for url in assets if not url.startswith("/") and "://testserver/" not in url
        ]
        assert external == []
