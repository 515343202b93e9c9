"""What the dialogs show about models: name, file, whether it ships with the app, and its card.

The model library of the core (``htrgui.core.recognition.library``) knows where models live; this module turns
its answers into the few plain fields a dialog lists, reading each file's provenance only (the card: base
model, training data, validation CER). Reading a card loads the file's metadata with ``weights_only=True``,
so it is done in a worker for the list (files are tens of MB).
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

from htrgui.core.errors import ModelError
from htrgui.core.paths import user_models_dir
from htrgui.core.progress import CancelToken, Progress
from htrgui.core.recognition import library
from htrgui.core.recognition.library import read_card, read_card_text


@dataclass
class ModelInfo:
    """One model file and its card (provenance), as listed to the user."""

    name: str
    path: Path
    shipped: bool
    card: dict[str, Any] = field(default_factory=dict)
    error: str = ""
    #: The model card written beside the weights (``<name>.md``, Markdown), "" when there is none.
    card_text: str = ""

    @property
    def cer(self) -> float | None:
        """Validation CER in [0, 1] from the card, when it says."""
        for key in ("val_cer", "cer", "validation_cer", "best_val_cer"):
            value = self.card.get(key)
            if isinstance(value, (int, float)):
                return float(value)
        metrics = self.card.get("metrics") or self.card.get("validation")
        if isinstance(metrics, dict):
            value = metrics.get("cer")
            if isinstance(value, (int, float)):
                return float(value)
        return None

    def summary(self) -> list[tuple[str, str]]:
        """(label, value) rows for the card view."""
        if self.error:
            return [("Problem", self.error)]
        card = self.card
        rows = [("File", str(self.path)), ("Shipped with htrgui", "yes" if self.shipped else "no")]
        lineage = card.get("lineage") if isinstance(card.get("lineage"), dict) else {}
        base = card.get("base_model") or lineage.get("base_model") or "trained from scratch"
        rows.append(("Base model", str(base)))
        data = card.get("data") or card.get("training_data") or card.get("train")
        if data:
            rows.append(("Training data", _short(data)))
        elif card.get("train_lines"):
            pages = card.get("finetuned_on_pages")
            of = f" of {pages} page{'s' if pages != 1 else ''}" if pages else ""
            rows.append(("Training data", f"{card['train_lines']} lines{of}"))
        cer = self.cer
        held = card.get("held_out_pages")
        where = f" (on {len(held)} held-out page{'s' if len(held) != 1 else ''})" if isinstance(held, list) else ""
        rows.append(("Validation CER", f"{cer * 100:.2f} %{where}" if cer is not None else "not measured"))
        size = card.get("language_model_bytes")
        if isinstance(size, int):
            rows.append(("Language model", f"its own ({size / 1e6:.1f} MB)" if size else
                         "none of its own: reads with the shipped model's"))
        if card.get("steps"):
            minutes = card.get("train_minutes")
            rows.append(("Training", f"{card['steps']} steps" + (f", {minutes} min" if minutes else "")))
        for key in ("config", "date", "description"):
            if card.get(key):
                rows.append((key.capitalize(), _short(card[key])))
        return rows


def _short(value: Any, limit: int = 300) -> str:
    if isinstance(value, dict):
        text = ", ".join(f"{k}: {v}" for k, v in value.items())
    elif isinstance(value, (list, tuple)):
        text = ", ".join(str(v) for v in value)
    else:
        text = str(value)
    return text if len(text) <= limit else text[: limit - 1] + "\u2026"


def model_files() -> list[tuple[Path, bool]]:
    """(path, shipped) of every model the user can choose, as the core's model library lists them."""
    return [(entry.path, entry.origin == "shipped") for entry in library.list_models()]


def _is_under(path: Path, folder: Path) -> bool:
    try:
        path.resolve().relative_to(folder)
        return True
    except ValueError:
        return False


def list_models(token: CancelToken | None = None) -> Iterator[Progress | ModelInfo]:
    """Every model with its card (a generator: reading cards takes a moment per file)."""
    files = model_files()
    for i, (path, shipped) in enumerate(files):
        if token is not None:
            token.check()
        yield Progress(i, len(files), path.name)
        info = ModelInfo(name=path.stem, path=path, shipped=shipped, card_text=read_card_text(path))
        try:
            info.card = read_card(path)
            info.name = str(info.card.get("name") or path.stem)
        except ModelError as exc:
            info.error = str(exc)
        yield info
    yield Progress(len(files), len(files), "done")


def import_model(source: Path) -> Path:
    """Copy a model file into the user's models folder after checking it loads. Returns the new path."""
    from htrgui.core.recognition.checkpoint import load_checkpoint

    source = Path(source)
    load_checkpoint(source)  # raises ModelError naming the file when it is damaged or not ours
    target = user_models_dir() / source.name
    if target.exists():
        raise ModelError(f"{target}: a model with this file name already exists; rename the file first")
    _copy(source, target)
    if source.with_suffix(".md").is_file():  # the card travels with the weights
        _copy(source.with_suffix(".md"), target.with_suffix(".md"))
    return target


def _copy(source: Path, target: Path) -> None:
    """Copy through a temporary name, so that a failed copy never leaves a half file under the real name."""
    tmp = target.with_name(f".{target.name}.copying")
    try:
        shutil.copyfile(source, tmp)
        tmp.replace(target)
    finally:
        tmp.unlink(missing_ok=True)


def export_model(info: ModelInfo, target: Path) -> Path:
    """Copy a model file to ``target`` (a file path)."""
    target = Path(target)
    _copy(info.path, target)
    if info.card_text:
        _copy(info.path.with_suffix(".md"), target.with_suffix(".md"))
    return target


def delete_model(info: ModelInfo) -> None:
    """Delete one of the user's models; shipped models are refused."""
    if info.shipped or not _is_under(info.path, user_models_dir().resolve()):
        raise ModelError(f"{info.path}: models shipped with htrgui cannot be deleted")
    info.path.unlink()
    info.path.with_suffix(".md").unlink(missing_ok=True)
