"""Time-aware customer profile (``customer_360``): feature families in SQL, built as of a cutoff."""

from crmlens.features.builder import FAMILIES, FeatureBuilder, describe_families, load_family

__all__ = ["FAMILIES", "FeatureBuilder", "describe_families", "load_family"]
