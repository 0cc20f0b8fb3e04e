"""CMS: Wagtail page models, blocks and snippets for the editorial side of Precis.

Pages read catalog and billing through their selectors and never write to them.
"""
