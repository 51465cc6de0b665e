"""crmlens: local-first customer intelligence."""

__version__ = "0.1.0"
