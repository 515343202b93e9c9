"""The jobs the CLI and the GUI both run, as Qt-free generators.

Each long job yields :class:`~htrgui.core.progress.Progress` and result objects and stops cooperatively when
its :class:`~htrgui.core.progress.CancelToken` is set. The GUI drives them in its job runner's lanes
(``qt/jobs.py``) and applies each result on the GUI thread as an undoable edit; the CLI iterates them and
writes files. Neither adds rules of its own:

- :mod:`.pages`: what a job gets for one page (:class:`~.pages.PageTask`, read in the job when not loaded).
- :mod:`.segment`: segmenting pages and files.
- :mod:`.recognize`: recognising pages, with the one verified-line rule (``editing.open_to_model``), loading
  a recogniser, and the model cache.
- :mod:`.export`: exporting pages in one or more formats.
- :mod:`.check`: the machine check (doctor and speed estimate).
- fine-tuning is ``training.finetune.finetune_pages``.
"""
