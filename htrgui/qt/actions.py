"""Every command of the window as a QAction: text, icon, shortcut and tooltip in one table.

Menus, toolbars and tests all use the same actions (``actions.segment_page.trigger()``), so a feature is
reachable by mouse, by keyboard and by a test in the same way. Tooltips show the shortcut.
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QWidget


@dataclass(frozen=True)
class Spec:
    name: str
    text: str
    icon: str = ""
    shortcut: str | QKeySequence.StandardKey | None = None
    tip: str = ""
    checkable: bool = False
    #: Shortcut only while the page view has the focus (single keys that must not fire while typing).
    view_only: bool = False


SK = QKeySequence.StandardKey
SPECS: tuple[Spec, ...] = (
    # file
    Spec("open_folder", "&Open folder…", "mdi6.folder-open", SK.Open, "Open a folder of scans (images, TIFF, PDF)"),
    Spec("open_files", "Open &files…", "mdi6.file-image", "Ctrl+Shift+O", "Open single images, TIFF or PDF files"),
    Spec("save", "&Save now", "mdi6.content-save", SK.Save, "Write every changed page now (autosave does it too)"),
    Spec("export", "&Export…", "mdi6.export", "Ctrl+E", "Export pages to PAGE 2019, ALTO 4 or plain text"),
    Spec("close_project", "&Close project", "mdi6.close", "Ctrl+Shift+W", "Save and close the project"),
    Spec("quit", "&Quit", "mdi6.exit-to-app", SK.Quit, "Save and quit"),
    # edit
    Spec("undo", "&Undo", "mdi6.undo", SK.Undo, "Undo the last change (text or geometry)"),
    Spec("redo", "&Redo", "mdi6.redo", SK.Redo, "Redo"),
    Spec("find", "&Find and replace…", "mdi6.find-replace", SK.Find, "Search the project's text and replace"),
    Spec("preferences", "&Preferences…", "mdi6.cog", SK.Preferences, "Device, default model, fonts, characters"),
    # view
    Spec("zoom_in", "Zoom &in", "mdi6.magnify-plus", SK.ZoomIn, "Zoom in (or turn the mouse wheel)"),
    Spec("zoom_out", "Zoom &out", "mdi6.magnify-minus", SK.ZoomOut, "Zoom out"),
    Spec("fit_page", "Fit &page", "mdi6.fit-to-page-outline", "Ctrl+0", "Show the whole page"),
    Spec("fit_width", "Fit &width", "mdi6.arrow-expand-horizontal", "Ctrl+9", "Fit the page's width"),
    # navigation
    Spec("next_page", "&Next page", "mdi6.chevron-right", "Alt+Right", "Next page (PageDown in the editor)"),
    Spec("prev_page", "&Previous page", "mdi6.chevron-left", "Alt+Left", "Previous page (PageUp in the editor)"),
    Spec("next_uncertain", "Next &uncertain line", "mdi6.alert-circle-outline", "F8",
         "Go to the next line most likely wrong, across the project"),
    # jobs
    Spec("segment_page", "&Segment page", "mdi6.format-line-spacing", "Ctrl+L", "Find the text lines of this page"),
    Spec("segment_selected", "Segment &selected pages", "", None, "Find the lines of the pages selected in the list"),
    Spec("segment_all", "Segment &all pages", "", None, "Find the lines of every page not segmented yet"),
    Spec("recognize_page", "&Recognise page", "mdi6.text-recognition", "Ctrl+R",
         "Read this page's lines with the default model (verified lines are kept)"),
    Spec("recognize_selected", "Recognise s&elected pages", "", None, "Read the pages selected in the list"),
    Spec("recognize_all", "Recognise all &pages", "", None, "Read every page (verified lines are kept)"),
    Spec("cancel_job", "&Cancel job", "mdi6.stop", "Ctrl+.", "Stop the running job"),
    Spec("finetune", "&Improve the model…", "mdi6.school", "Ctrl+Shift+T",
         "Fine-tune the model on the lines you verified"),
    Spec("continuous", "&Learn while I correct", "mdi6.school-outline", None,
         "Fine-tune the model in the background as you verify lines; keep a version only if it is better "
         "(takes a CPU core for minutes at a time)", True),
    Spec("models", "&Models…", "mdi6.brain", None, "Models with their cards: switch, import, export, delete"),
    # lines
    Spec("verify_line", "&Verify line", "mdi6.check", "Ctrl+Return", "Mark the current line as checked"),
    Spec("verify_page", "Verify &page", "mdi6.check-decagram", "Ctrl+Shift+Return",
         "Mark every line of the page as checked"),
    Spec("tool_select", "&Select and move points", "mdi6.cursor-default", "S", "Select lines, drag their points",
         True, view_only=True),
    Spec("tool_draw", "&Draw line", "mdi6.pencil-plus", "D",
         "Click the baseline's points, double-click or Enter to finish", True, view_only=True),
    Spec("tool_split", "S&plit line", "mdi6.content-cut", "X", "Click a line where it should be cut in two", True,
         view_only=True),
    Spec("merge_lines", "&Merge lines", "mdi6.call-merge", "M", "Merge the selected lines into one", view_only=True),
    Spec("delete_lines", "&Delete lines", "mdi6.delete", SK.Delete, "Delete the selected lines", view_only=True),
    Spec("recompute_polygon", "Recompute &polygon", "mdi6.vector-polygon", "P",
         "Fit the selected lines' polygons to the ink around their baselines", view_only=True),
    Spec("line_up", "Move line &up", "mdi6.arrow-up", "Ctrl+Up", "Earlier in the reading order"),
    Spec("line_down", "Move line do&wn", "mdi6.arrow-down", "Ctrl+Down", "Later in the reading order"),
    Spec("region_type", "Region &type…", "mdi6.tag", "T", "Change the type of the selected lines' region",
         view_only=True),
)


class Actions:
    """The window's actions as attributes (``actions.undo``), created once per window."""

    def __init__(self, parent: QWidget) -> None:
        import qtawesome as qta

        self.by_name: dict[str, QAction] = {}
        #: Actions whose shortcuts belong to the page view (the window adds them there).
        self.view_only: list[QAction] = []
        for spec in SPECS:
            action = QAction(spec.text, parent)
            action.setObjectName(spec.name)
            if spec.icon:
                action.setIcon(qta.icon(spec.icon))
            if spec.shortcut is not None:
                keys = (QKeySequence.keyBindings(spec.shortcut) if isinstance(spec.shortcut, SK)
                        else [QKeySequence(spec.shortcut)])
                action.setShortcuts(keys)
            shown = action.shortcut().toString(QKeySequence.SequenceFormat.NativeText)
            tip = spec.tip or spec.text.replace("&", "").rstrip("…")
            action.setToolTip(f"{tip} ({shown})" if shown else tip)
            action.setStatusTip(tip)
            action.setCheckable(spec.checkable)
            if spec.view_only:
                action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
                self.view_only.append(action)
            else:
                parent.addAction(action)  # shortcuts work even when the action is in no visible menu
            self.by_name[spec.name] = action
            setattr(self, spec.name, action)

    def refresh_icons(self) -> None:
        """Redraw the icons in the current palette's colour (after the look changed)."""
        import qtawesome as qta

        for spec in SPECS:
            if spec.icon:
                self.by_name[spec.name].setIcon(qta.icon(spec.icon))

    def __getattr__(self, name: str) -> QAction:  # for type checkers; real attributes are set above
        raise AttributeError(name)
