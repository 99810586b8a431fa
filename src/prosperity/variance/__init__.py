"""Standard errors: one routine turns linearized variables plus the survey design into variances."""

from .design import Design

__all__ = ["Design"]
