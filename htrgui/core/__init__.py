"""The headless core: document model, PAGE/ALTO io, segmentation, model, recognition, training.

Nothing in this package may import Qt (PySide6, qtawesome); ``tests/test_architecture.py`` checks it.
"""
