"""simgen: physics-simulated, labeled synthetic image datasets."""

__version__ = "0.1.0"
