"""Utilities shared across sklirl."""
