"""The fgc version, on its own so that every stage can read it without importing the API."""

__version__ = "0.1.0"
