"""Standard errors: one routine turns linearized variables plus the survey design into variances."""

from .contrasts import Contrast, group_contrast, sample_contrast
from .design import Design

__all__ = ["Contrast", "Design", "group_contrast", "sample_contrast"]
