"""The Qt layer: windows, widgets and workers on top of :mod:`htrgui.core`."""

from htrgui.qt.refguard import pin_singletons

# before anything imports PySide6: its 6.12 wheels lose references to None/True/False on Python < 3.12
pin_singletons()
