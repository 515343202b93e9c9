"""Guard against a reference-counting bug of PySide6 6.12 wheels on Python 3.10/3.11.

Those wheels return ``None`` (and ``True``/``False``) from many wrapped Qt calls without taking a reference,
as is allowed on Python 3.12+ where these objects are immortal. On 3.11 every such call (``show()``,
``setEnabled()``, ``processEvents()``, a key press in a text field...) loses one reference, and after a few
thousand of them Python aborts with "Fatal Python error: none_dealloc" -- an hour of typing would crash the
window. Measured here: about 15 references lost per keystroke in the editor, 1,700 by ``import PySide6.QtCore``.

The guard makes the three singletons as good as immortal, the way Python 3.12 does, by adding 2**40 to their
reference counts once. It does nothing on Python 3.12 and later.
"""

from __future__ import annotations

import ctypes
import sys

PIN = 1 << 40
_done = False


def pin_singletons() -> bool:
    """Add a huge reference count to None, True and False on CPython < 3.12. True when it did so."""
    global _done
    if _done or sys.version_info >= (3, 12) or sys.implementation.name != "cpython":
        return False
    for obj in (None, True, False):
        # ob_refcnt is the first field of every object on CPython (non-debug, non-free-threaded builds)
        ctypes.c_ssize_t.from_address(id(obj)).value += PIN
    _done = True
    return True
