"""Line recognition: the HTR-ConvText model, its codec and checkpoints, line crops, decoding, the engine."""
