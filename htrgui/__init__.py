"""htrgui: handwritten text recognition for archives, offline, on CPU or GPU."""

__version__ = "0.1.0"
