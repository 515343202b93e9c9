"""htrgui: handwritten text recognition for archives, offline, on CPU or GPU."""

import os

# Idle torch (OpenMP) threads spin by default; on a laptop that also runs the GUI, or a machine shared with
# other work, that spinning starves the cores (measured: 3 vs 20 lines/s on 2 busy cores). Must be set before
# anything imports torch, hence here.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

__version__ = "0.1.0"
