"""The package's version, at the bottom of the import order so that any layer may record it."""

__version__ = "0.1.0"
