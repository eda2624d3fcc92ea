"""The morphology classes of the Galaxy10 DECaLS / Galaxy Zoo vocabulary, in label order."""

from __future__ import annotations

SMOOTH_ROUND = "smooth_round"
SMOOTH_IN_BETWEEN = "smooth_in_between"
SMOOTH_CIGAR = "smooth_cigar"
EDGE_ON_NO_BULGE = "edge_on_no_bulge"
EDGE_ON_WITH_BULGE = "edge_on_with_bulge"
UNBARRED_TIGHT_SPIRAL = "unbarred_tight_spiral"
UNBARRED_LOOSE_SPIRAL = "unbarred_loose_spiral"
BARRED_SPIRAL = "barred_spiral"
MERGER = "merger"  # includes disturbed galaxies with tidal features
RING = "ring"

CLASS_NAMES = (
    SMOOTH_ROUND,
    SMOOTH_IN_BETWEEN,
    SMOOTH_CIGAR,
    EDGE_ON_NO_BULGE,
    EDGE_ON_WITH_BULGE,
    UNBARRED_TIGHT_SPIRAL,
    UNBARRED_LOOSE_SPIRAL,
    BARRED_SPIRAL,
    MERGER,
    RING,
)
