"""Line recognition: the HTR-ConvText model, its codec and checkpoints, line crops, decoding, the engine."""

import os as _os
import sys as _sys

# Idle OpenMP threads sleep instead of spinning. Measured on 2 shared cores under load: with spinning,
# 2 threads read 3 lines/s (most CPU time burnt waiting); passive, 20 lines/s. It only takes effect when
# set before torch is first imported, which is the case for the command line (it imports lazily).
if "torch" not in _sys.modules:
    _os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
