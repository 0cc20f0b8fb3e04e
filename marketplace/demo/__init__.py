"""Demo data for `make run` and screenshots: `python manage.py seed_demo`.

The top of the dependency graph: it may call every app's services, and nothing imports it.
"""
