"""CurveWidget and CharPanel: real widgets rendered offscreen, driven by clicks and key presses."""

from __future__ import annotations

import math
import unicodedata

import pytest

pytest.importorskip("PySide6")
pytest.importorskip("pytestqt")

from PySide6.QtCore import Qt  # noqa: E402
from PySide6.QtGui import QColor, QImage  # noqa: E402
from PySide6.QtWidgets import QLineEdit, QVBoxLayout, QWidget  # noqa: E402

from htrgui.qt.settings import Settings  # noqa: E402
from htrgui.qt.widgets.charpanel import CharPanel, can_show, describe, display_text, panel_font  # noqa: E402
from htrgui.qt.widgets.curve import CurveWidget, nice_ticks  # noqa: E402

pytestmark = pytest.mark.gui


def render(widget: QWidget) -> QImage:
    return widget.grab().toImage().convertToFormat(QImage.Format.Format_RGB32)


def count_colour(image: QImage, colour: str, tolerance: int = 40) -> int:
    """Pixels close to ``colour`` (sampled every other pixel)."""
    target = QColor(colour)
    n = 0
    for y in range(0, image.height(), 2):
        for x in range(0, image.width(), 2):
            c = image.pixelColor(x, y)
            if (abs(c.red() - target.red()) + abs(c.green() - target.green())
                    + abs(c.blue() - target.blue())) < tolerance:
                n += 1
    return n


def test_nice_ticks_cover_the_range_with_round_steps():
    for low, high in [(0, 1), (0.013, 0.87), (3.2, 417.0), (-5, 5), (1e-4, 3e-4)]:
        ticks = nice_ticks(low, high, 5)
        assert 2 <= len(ticks) <= 12
        assert ticks[0] >= low - 1e-12 and ticks[-1] <= high + 1e-9
        steps = {round(b - a, 12) for a, b in zip(ticks, ticks[1:])}
        assert len(steps) == 1
        mantissa = steps.pop() / 10 ** math.floor(math.log10(ticks[1] - ticks[0]))
        assert round(mantissa, 6) in (1, 2, 5, 10)


def test_curve_draws_each_series_in_its_colour(qtbot):
    curve = CurveWidget()
    qtbot.addWidget(curve)
    curve.resize(600, 300)
    curve.add_series("loss", "training loss")
    curve.add_series("cer", "validation CER", "%")
    empty = render(curve)
    loss_colour = curve.series["loss"].colour
    cer_colour = curve.series["cer"].colour
    before_loss = count_colour(empty, loss_colour)
    for step in range(1, 200):
        curve.add_point("loss", step, 3.0 * math.exp(-step / 50) + 0.2)
        if step % 40 == 0:
            curve.add_point("cer", step, 60.0 - step / 5)
    curve.add_point("loss", 200, float("nan"))  # a diverging step is skipped, not plotted
    image = render(curve)
    assert len(curve.series["loss"].points) == 199
    assert count_colour(image, loss_colour) > before_loss + 100
    assert count_colour(image, cer_colour) > 20
    # The loss starts high on the left and ends low on the right: its pixels' mean height differs by side.
    left = [y for y in range(image.height()) for x in range(90, 140)
            if image.pixelColor(x, y) == QColor(loss_colour)]
    right = [y for y in range(image.height()) for x in range(440, 500)
             if image.pixelColor(x, y) == QColor(loss_colour)]
    assert left and right and sum(left) / len(left) < sum(right) / len(right)
    curve.clear()
    assert all(not s.points for s in curve.series.values())


def test_char_panel_shows_the_settings_characters_and_emits_on_click(qtbot):
    nowhere = "\U0010fffd"  # a private-use code point no font draws
    settings = Settings(special_characters=["ꝑ", "ſ", "\u0303", nowhere])
    panel = CharPanel(settings)
    qtbot.addWidget(panel)
    panel.show()
    font = panel_font(settings.font_family, settings.font_size)
    expected = [display_text(c) if can_show(c, font) else f"{ord(c):04X}" for c in settings.special_characters]
    assert [b.text() for b in panel.buttons] == expected
    assert expected[2] in ("\u25cc\u0303", "0303") and expected[3] == "10FFFD"
    assert "No font on this computer" in panel.buttons[3].toolTip()
    assert "LATIN SMALL LETTER P WITH STROKE THROUGH DESCENDER" in panel.buttons[0].toolTip()
    assert "Alt+1" in panel.buttons[0].toolTip()
    for index, char in [(2, "\u0303"), (3, nowhere)]:  # a character shown as its code is still inserted as itself
        with qtbot.waitSignal(panel.char_chosen) as blocker:
            qtbot.mouseClick(panel.buttons[index], Qt.MouseButton.LeftButton)
        assert blocker.args == [char]
    settings.special_characters = ["ſ", "⁊"]
    panel.refresh()
    assert len(panel.buttons) == 2 and panel.buttons[1].toolTip().startswith("TIRONIAN SIGN ET")
    assert panel.shortcut_for("⁊") == "Alt+2" and panel.shortcut_for("x") == ""


def test_char_panel_shortcut_inserts_into_an_editor(qtbot):
    """Alt+digit types the character into the editor that has the focus, as the main window wires it."""
    window = QWidget()
    qtbot.addWidget(window)
    editor = QLineEdit()
    panel = CharPanel(Settings(special_characters=["ꝑ", "ꝓ", "ꝗ"]))
    panel.char_chosen.connect(editor.insert)
    layout = QVBoxLayout(window)
    layout.addWidget(editor)
    layout.addWidget(panel)
    with qtbot.waitActive(window):
        window.show()
        window.activateWindow()
    editor.setFocus()
    qtbot.keyClicks(editor, "p")
    with qtbot.waitSignal(panel.char_chosen, timeout=2000):
        qtbot.keyClick(editor, Qt.Key.Key_2, Qt.KeyboardModifier.AltModifier)
    qtbot.mouseClick(panel.buttons[0], Qt.MouseButton.LeftButton)
    assert editor.text() == "pꝓꝑ"
    assert editor.hasFocus()  # the buttons never take the focus away from the text


def test_char_panel_wraps_its_buttons(qtbot):
    settings = Settings()
    panel = CharPanel(settings)
    qtbot.addWidget(panel)
    panel.resize(200, 400)
    panel.show()
    qtbot.waitExposed(panel)
    rows = {b.geometry().top() for b in panel.buttons}
    assert len(rows) > 1
    assert all(b.geometry().right() <= panel.width() for b in panel.buttons)
    assert panel.layout().heightForWidth(200) > panel.layout().heightForWidth(1000)


def test_display_and_describe():
    assert display_text("a") == "a"
    assert display_text("\u0304") == "\u25cc\u0304"
    assert describe("ſ") == f"{unicodedata.name('ſ')} (U+017F)"
