"""Ingestion: sources mapped to the canonical schema, cleaned, with every rejected row kept."""

from crmlens.ingest.files import detect_encoding
from crmlens.ingest.loader import Loader, LoadResult, ensure_schema
from crmlens.ingest.mapping import propose
from crmlens.ingest.quality import quality_report

__all__ = ["LoadResult", "Loader", "detect_encoding", "ensure_schema", "propose", "quality_report"]
