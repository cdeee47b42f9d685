"""Bundled evidence files (see README.md in this folder)."""
