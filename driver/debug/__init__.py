"""Debugging aids: ``explain`` (IR task -> manifest mapping, manifest size) and ``graph`` (pictures)."""
