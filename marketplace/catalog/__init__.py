"""Catalog: listings (solutions and open-source components), their versions, images, taxonomy,
search and reviews. Depends on accounts only; billing and the UI apps build on it.
"""
