"""Training, fine-tuning and distillation of the HTR-ConvText recogniser (headless, no Qt)."""
