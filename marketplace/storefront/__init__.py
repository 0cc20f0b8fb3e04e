"""Storefront: the pages where SMEs find, compare and review solutions and components."""
