"""joinedup: joined-up primary and community care."""

__version__ = "0.1.0"
