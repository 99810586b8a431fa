"""Standard errors: one routine turns linearized variables plus the survey design into variances."""

from .contrasts import Contrast, contrast, group_contrast, sample_contrast
from .design import Design

__all__ = ["Contrast", "Design", "contrast", "group_contrast", "sample_contrast"]
