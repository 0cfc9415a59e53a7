"""The hosted-deployment fixture for every tenant test."""

from .hosting import hosted

__all__ = ["hosted"]
