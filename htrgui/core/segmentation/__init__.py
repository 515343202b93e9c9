"""Classical (OpenCV) line segmentation of handwritten pages.

``segment_page(gray_image, params=None) -> list[TextRegion]`` is the entry point; the steps live in
``binarize`` (background, ink, borders, rules), ``deskew``, ``lines`` (ridges, traces, baselines),
``polygons``, ``layout`` (regions, types, reading order) and ``pipeline`` (the whole). ``scoring`` matches
a segmentation against ground truth. Parameters: :class:`SegmentationParams`. See docs/segmentation.md.
"""

from htrgui.core.segmentation.params import SegmentationParams
from htrgui.core.segmentation.pipeline import analyse, segment_page

__all__ = ["SegmentationParams", "analyse", "segment_page"]
