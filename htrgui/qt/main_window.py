"""The main window: composes the page list, page view, transcription editor, menus and jobs, and wires them.

It holds no document logic: the session owns the project and its pages, the page controller keeps the view
and editor in step, the line tools and job wiring turn actions into commands and background jobs.
"""

from __future__ import annotations

import gc
import sys
from pathlib import Path

from PySide6.QtCore import QSettings, Qt, QTimer
from PySide6.QtGui import QFont
from PySide6.QtWidgets import (QDockWidget, QFileDialog, QMainWindow, QMenu, QSizePolicy, QSplitter, QToolBar,
                               QVBoxLayout, QWidget)

from htrgui.core.errors import HtrError
from htrgui.core.imaging import SUFFIXES
from htrgui.core.paths import user_config_dir
from htrgui.qt.actions import Actions
from htrgui.qt.continuous import ContinuousLearner
from htrgui.qt.job_wiring import JobWiring
from htrgui.qt.line_editor import LineEditor
from htrgui.qt.line_tools import LineTools
from htrgui.qt.page_controller import PageController
from htrgui.qt.page_list import PageList
from htrgui.qt.page_view import PageView
from htrgui.qt.preload import preload_heavy_modules
from htrgui.qt.search_bar import SearchBar
from htrgui.qt.session import Session
from htrgui.qt.theme import apply_theme

STATE_VERSION = 1


def _show_error(parent, title: str, message: str, details: str = "") -> None:
    from htrgui.qt.dialogs.errors import show_error

    show_error(parent, title, message, details)


class MainWindow(QMainWindow):
    def __init__(self, settings=None, autosave_ms: int | None = None) -> None:
        super().__init__()
        from htrgui.qt.jobs import JobRunner, JobStatusWidget
        from htrgui.qt.settings import load_settings

        # A running job holds the interpreter lock between its torch calls; every Qt -> Python call of the
        # interface (slots, paint and item overrides) must win it back, waiting up to the switch interval each
        # time (5 ms by default). 1 ms keeps a busy window fluid at a negligible cost to the job.
        sys.setswitchinterval(0.001)
        # Full garbage collections walk every container object (torch brings hundreds of thousands) and stop
        # all threads for 0.1-0.5 s (measured). Collect the young often, the old rarely; long-lived objects
        # are also frozen when a job starts (job_wiring).
        gc.set_threshold(2000, 10, 1000)
        self.settings = settings if settings is not None else load_settings()
        self.setWindowTitle("htrgui")
        self.setAcceptDrops(True)
        self.session = Session(self) if autosave_ms is None else Session(self, autosave_ms)
        self.actions = Actions(self)
        self.runner = JobRunner(self)

        self.view = PageView()
        self.editor = LineEditor()
        self.search = SearchBar(self)
        self.page_list = PageList(self.session, runner=self.runner)
        self.controller = PageController(self.session, self.view, self.editor, self, runner=self.runner)
        self.tools = LineTools(self.session, self.view, self.controller, self.actions, self)
        self.jobs = JobWiring(self, self.session, self.runner, self.page_list, self.settings)
        self.learner = ContinuousLearner(self, self.session, self.runner, self.settings, self.jobs)
        self.jobs.learner = self.learner
        self.search.setup(self.session, self.controller)

        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.setObjectName("mainSplitter")
        splitter.addWidget(self.view)
        right = QWidget()
        column = QVBoxLayout(right)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(2)
        column.addWidget(self.search)
        column.addWidget(self.editor, 1)
        self.char_panel = self._make_char_panel()
        column.addWidget(self.char_panel)
        splitter.addWidget(right)
        splitter.setStretchFactor(0, 1)
        splitter.setStretchFactor(1, 1)
        splitter.setSizes([600, 600])
        self.splitter = splitter
        self.setCentralWidget(splitter)
        self.search.hide()

        self.pages_dock = self._dock("pagesDock", "Pages", self.page_list, Qt.DockWidgetArea.LeftDockWidgetArea)
        self.status = JobStatusWidget(self.runner)
        self.statusBar().addPermanentWidget(self.learner.label)
        self.statusBar().addPermanentWidget(self.status)
        for action in self.actions.view_only:
            self.view.addAction(action)

        self._build_menus()
        self._build_toolbar()
        self._connect()
        self.apply_settings()
        self._restore_state()
        self._update_enabled()
        # torch and the engines load in the background while the person opens a folder
        self.preload_thread = None
        QTimer.singleShot(100, self._preload)

    # ---------------------------------------------------------------- construction
    def _preload(self) -> None:
        self.preload_thread = preload_heavy_modules()

    def warmed_up(self) -> bool:
        """True once the background import of torch and the engines is over."""
        return self.preload_thread is not None and not self.preload_thread.is_alive()

    def _dock(self, name: str, title: str, widget, area) -> QDockWidget:
        dock = QDockWidget(title, self)
        dock.setObjectName(name)
        dock.setWidget(widget)
        self.addDockWidget(area, dock)
        return dock

    def _make_char_panel(self):
        from htrgui.qt.widgets.charpanel import CharPanel

        panel = CharPanel(self.settings)
        panel.char_chosen.connect(self.editor.insert_text)
        panel.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Maximum)
        return panel

    def _build_menus(self) -> None:
        a = self.actions
        bar = self.menuBar()
        file = bar.addMenu("&File")
        file.addActions([a.open_folder, a.open_files])
        self.recent_menu = QMenu("Open &recent", self)
        file.addMenu(self.recent_menu)
        file.addSeparator()
        file.addActions([a.save, a.export])
        file.addSeparator()
        file.addActions([a.close_project, a.quit])
        edit = bar.addMenu("&Edit")
        edit.addActions([a.undo, a.redo])
        edit.addSeparator()
        edit.addActions([a.find, a.preferences])
        view = bar.addMenu("&View")
        view.addActions([a.zoom_in, a.zoom_out, a.fit_page, a.fit_width])
        view.addSeparator()
        view.addAction(self.pages_dock.toggleViewAction())
        toggle = view.addAction("Special &characters")
        toggle.setCheckable(True)
        toggle.setChecked(True)
        toggle.toggled.connect(self.char_panel.setVisible)
        page = bar.addMenu("&Page")
        page.addActions([a.prev_page, a.next_page, a.next_uncertain])
        page.addSeparator()
        page.addActions([a.segment_page, a.segment_selected, a.segment_all])
        page.addSeparator()
        page.addActions([a.recognize_page, a.recognize_selected, a.recognize_all, a.cancel_job])
        page.addSeparator()
        page.addActions([a.verify_line, a.verify_page])
        lines = bar.addMenu("&Lines")
        lines.addActions([a.tool_select, a.tool_draw, a.tool_split])
        lines.addSeparator()
        lines.addActions([a.merge_lines, a.delete_lines, a.recompute_polygon, a.line_up, a.line_down,
                          a.region_type])
        model = bar.addMenu("&Model")
        model.addActions([a.finetune, a.continuous])
        self.rollback_menu = QMenu("Roll &back the model", self)
        self.rollback_menu.setToolTip("Put an earlier learnt version, or the model you chose, back in use")
        self.rollback_menu.aboutToShow.connect(lambda: self.learner.fill_rollback_menu(self.rollback_menu))
        model.addMenu(self.rollback_menu)
        model.addSeparator()
        model.addAction(a.models)

    def _build_toolbar(self) -> None:
        a = self.actions
        bar = QToolBar("Main", self)
        bar.setObjectName("mainToolbar")
        bar.addActions([a.open_folder, a.save, a.undo, a.redo])
        bar.addSeparator()
        bar.addActions([a.segment_page, a.recognize_page, a.cancel_job])
        bar.addSeparator()
        bar.addActions([a.tool_select, a.tool_draw, a.tool_split, a.merge_lines, a.delete_lines,
                        a.recompute_polygon])
        bar.addSeparator()
        bar.addActions([a.verify_line, a.verify_page, a.next_uncertain])
        bar.addSeparator()
        bar.addActions([a.zoom_in, a.zoom_out, a.fit_page, a.fit_width])
        bar.addSeparator()
        bar.addActions([a.finetune, a.export])
        self.addToolBar(bar)

    def _connect(self) -> None:
        a, s = self.actions, self.session
        a.open_folder.triggered.connect(self.ask_open_folder)
        a.open_files.triggered.connect(self.ask_open_files)
        a.save.triggered.connect(s.save_dirty)
        a.close_project.triggered.connect(s.close)
        a.quit.triggered.connect(self.close)
        a.undo.triggered.connect(s.undo_stack.undo)
        a.redo.triggered.connect(s.undo_stack.redo)
        s.undo_stack.canUndoChanged.connect(a.undo.setEnabled)
        s.undo_stack.canRedoChanged.connect(a.redo.setEnabled)
        a.find.triggered.connect(self.search.activate)
        a.zoom_in.triggered.connect(lambda: self.view.zoom(1.25))
        a.zoom_out.triggered.connect(lambda: self.view.zoom(0.8))
        a.fit_page.triggered.connect(self.view.fit_page)
        a.fit_width.triggered.connect(self.view.fit_width)
        a.next_page.triggered.connect(lambda: self.controller.step_page(1))
        a.prev_page.triggered.connect(lambda: self.controller.step_page(-1))
        a.next_uncertain.triggered.connect(self.controller.next_uncertain)
        a.verify_line.triggered.connect(self.controller.verify_current_line)
        a.verify_page.triggered.connect(self.controller.verify_page)
        a.export.triggered.connect(self.export)
        a.preferences.triggered.connect(self.preferences)
        a.finetune.triggered.connect(self.jobs.finetune)
        a.continuous.setChecked(self.settings.continuous_learning)
        a.continuous.toggled.connect(self.learner.set_enabled)
        a.models.triggered.connect(self.models)
        self.page_list.page_activated.connect(s.set_current)
        self.controller.message.connect(lambda text: self.statusBar().showMessage(text, 8000))
        s.opened.connect(self._on_opened)
        s.closed.connect(self._update_enabled)
        s.save_failed.connect(lambda msg: _show_error(self, "Cannot save", msg))
        s.saved.connect(lambda idx: self.statusBar().showMessage(f"Saved {len(idx)} page(s)", 3000))
        self.runner.busy_changed.connect(lambda _busy: self._update_enabled())

    # ---------------------------------------------------------------- settings and state
    def apply_settings(self) -> None:
        """Editor font, recent projects and, when it changed, the look."""
        from PySide6.QtWidgets import QApplication

        if getattr(self, "_theme", None) not in (None, self.settings.theme):
            apply_theme(QApplication.instance(), self.settings.theme)
            self.actions.refresh_icons()  # qtawesome drew them in the old look's colour
        self._theme = self.settings.theme
        font = QFont(self.settings.font_family) if self.settings.font_family else QFont()
        font.setPointSize(max(6, int(self.settings.font_size)))
        self.editor.set_editor_font(font)
        self._fill_recent()

    def _fill_recent(self) -> None:
        self.recent_menu.clear()
        for folder in self.settings.recent_projects:
            self.recent_menu.addAction(folder, lambda f=folder: self.open_path(f))
        self.recent_menu.setEnabled(bool(self.settings.recent_projects))

    def _state_store(self) -> QSettings:
        # beside settings.json (so HTRGUI_HOME isolates it too), not in the platform's registry
        return QSettings(str(user_config_dir() / "window.ini"), QSettings.Format.IniFormat)

    def _restore_state(self) -> None:
        store = self._state_store()
        geometry = store.value("geometry")
        if geometry is not None:
            self.restoreGeometry(geometry)
        else:
            self.resize(1400, 880)
        state = store.value("state")
        if state is not None:
            self.restoreState(state, STATE_VERSION)
        splitter = store.value("splitter")
        if splitter is not None:
            self.splitter.restoreState(splitter)

    def _save_state(self) -> None:
        store = self._state_store()
        store.setValue("geometry", self.saveGeometry())
        store.setValue("state", self.saveState(STATE_VERSION))
        store.setValue("splitter", self.splitter.saveState())
        store.sync()

    def _update_enabled(self) -> None:
        a = self.actions
        is_open = self.session.is_open
        busy = self.runner.blocking  # a background job (the model learning) gives way
        for name in ("save", "export", "close_project", "next_page", "prev_page", "next_uncertain", "find",
                     "verify_line", "verify_page", "finetune", "fit_page", "fit_width", "zoom_in", "zoom_out"):
            a.by_name[name].setEnabled(is_open)
        for name in ("segment_page", "segment_selected", "segment_all", "recognize_page", "recognize_selected",
                     "recognize_all"):
            a.by_name[name].setEnabled(is_open and not busy)
        a.finetune.setEnabled(is_open and not busy)
        a.cancel_job.setEnabled(self.runner.busy)  # the model learning can be cancelled too
        a.undo.setEnabled(self.session.undo_stack.canUndo())
        a.redo.setEnabled(self.session.undo_stack.canRedo())
        self.tools.update_enabled()

    # ---------------------------------------------------------------- opening
    def ask_open_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Open a folder of scans")
        if folder:
            self.open_path(folder)

    def ask_open_files(self) -> None:
        files, _ = QFileDialog.getOpenFileNames(self, "Open scans", "",
                                                f"Scans ({' '.join('*' + s for s in SUFFIXES)})")
        if files:
            self.open_path(files[0])

    def open_path(self, path: str | Path) -> bool:
        """Open a folder, or the folder of a single file with that file's page shown. False on failure."""
        path = Path(path)
        folder = path if path.is_dir() else path.parent
        try:
            if not path.exists():
                raise HtrError(f"{path}: not found")
            self.session.open(folder)
        except HtrError as exc:
            _show_error(self, "Cannot open", str(exc))
            return False
        if path.is_file():
            for i, entry in enumerate(self.session.entries):
                if Path(entry.image_path).resolve() == path.resolve():
                    self.session.set_current(i)
                    break
        return True

    def _on_opened(self) -> None:
        folder = self.session.folder
        # Qt adds " — htrgui" (the application display name) itself on Linux and Windows
        self.setWindowTitle(folder.name)
        self.settings.add_recent(folder)
        self._save_settings()
        self._fill_recent()
        skipped = getattr(self.session.project, "skipped", [])
        if skipped:
            self.statusBar().showMessage(f"{len(skipped)} file(s) could not be read: {skipped[0]}", 15000)
        if not self.session.entries:
            self.statusBar().showMessage(f"{folder}: no scans found (JPEG, PNG, TIFF, JP2, PDF)", 15000)
        self._update_enabled()

    def _save_settings(self) -> None:
        from htrgui.qt.settings import save_settings

        try:
            save_settings(self.settings)
        except (OSError, HtrError) as exc:
            self.statusBar().showMessage(f"Settings not saved: {exc}", 10000)

    def dragEnterEvent(self, event) -> None:
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:
        urls = [u.toLocalFile() for u in event.mimeData().urls() if u.isLocalFile()]
        if urls:
            self.open_path(urls[0])
            event.acceptProposedAction()

    # ---------------------------------------------------------------- dialogs
    def export(self) -> None:
        self.session.save_dirty()
        from htrgui.qt.dialogs.export import ExportDialog

        # several pages selected in the list: those; otherwise the whole project (one page is just the current)
        selected = self.page_list.selected_indices()
        entries = ([self.session.entries[i] for i in selected] if len(selected) > 1
                   else list(self.session.entries))
        self.export_dialog = ExportDialog(self, self.session.project, entries, self.runner)
        # the model learning waits while the user exports (both would share the CPU)
        self.learner.hold("export")
        self.export_dialog.finished.connect(lambda _result: self.learner.release("export"))
        self.export_dialog.show()

    def preferences(self) -> None:
        from htrgui.qt.dialogs.preferences import PreferencesDialog

        dialog = PreferencesDialog(self, self.settings, self.runner)
        dialog.settings_changed.connect(self.apply_settings)
        dialog.settings_changed.connect(self.learner.settings_changed)
        dialog.show()
        self.preferences_dialog = dialog

    def models(self) -> None:
        from htrgui.qt.dialogs.models import ModelsDialog

        dialog = ModelsDialog(self, self.settings, self.runner)
        dialog.model_changed.connect(lambda name: self.statusBar().showMessage(f"Recognising with {name}", 8000))
        dialog.show()
        self.models_dialog = dialog

    # ---------------------------------------------------------------- closing
    def closeEvent(self, event) -> None:
        self.runner.shutdown()
        self.session.close()  # writes what is dirty
        self._save_state()
        super().closeEvent(event)

