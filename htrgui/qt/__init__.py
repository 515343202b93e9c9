"""The Qt layer: windows, widgets and workers on top of :mod:`htrgui.core`."""
