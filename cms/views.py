"""The site search: CMS pages in the language being read and the catalog's listings, grouped."""

from django.shortcuts import render
from django.utils.translation import get_language

from cms import selectors


def search(request):
    result = selectors.site_search(
        request.GET.get("q", ""),
        language=get_language() or "en",
        pages_number=request.GET.get("page"),
        listings_number=request.GET.get("listings_page"),
    )
    return render(request, "cms/search.html", {"result": result, "q": result.q})
