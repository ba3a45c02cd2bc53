"""coview: review performance-simulator sweeps in the terminal, with grounded answers."""

__version__ = "0.1.0"
