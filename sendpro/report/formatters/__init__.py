"""Streaming issue formatters."""
