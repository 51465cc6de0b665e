"""Customer segmentation: RFM, clustering with an automatic choice, neural embeddings, named profiles.

Start with :func:`segment_frame` (a frame), :func:`run_on_profile` (``customer_360`` for the
warehouse and report) or ``crmlens segment FILE`` on the command line.
"""

from crmlens.segment.api import (
    SegmentationResult,
    read_customer_file,
    rfm_assignments,
    run_on_profile,
    run_on_warehouse,
    segment_frame,
)
from crmlens.segment.behaviour import BEHAVIOUR_COLUMNS, behaviour_view
from crmlens.segment.cluster import AUTO_METHODS, METHODS, SegmentClusterer, cluster_quality
from crmlens.segment.embed import AutoencoderEmbedder
from crmlens.segment.preprocess import CustomerPreprocessor
from crmlens.segment.profile import detect_roles, name_segments, profile_segments
from crmlens.segment.rfm import RFM_SEGMENTS, RFMSegmenter, rfm_table
from crmlens.segment.synthetic import PLANTED_SEGMENTS, make_customers
from crmlens.segment.transitions import transition_matrix
from crmlens.segment.viz import map_coordinates, map_figure, profile_figure, transition_figure

__all__ = [
    "AUTO_METHODS",
    "BEHAVIOUR_COLUMNS",
    "METHODS",
    "PLANTED_SEGMENTS",
    "RFM_SEGMENTS",
    "AutoencoderEmbedder",
    "CustomerPreprocessor",
    "RFMSegmenter",
    "SegmentClusterer",
    "SegmentationResult",
    "behaviour_view",
    "cluster_quality",
    "detect_roles",
    "make_customers",
    "map_coordinates",
    "map_figure",
    "name_segments",
    "profile_figure",
    "profile_segments",
    "read_customer_file",
    "rfm_assignments",
    "rfm_table",
    "run_on_profile",
    "run_on_warehouse",
    "segment_frame",
    "transition_figure",
    "transition_matrix",
]
