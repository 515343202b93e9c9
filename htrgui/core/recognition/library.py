"""Where models are: the ones shipped in ``models/`` and the user's own; names, the default, model cards."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from htrgui.core.errors import ModelError
from htrgui.core.paths import bundled_models_dir, user_models_dir

DEFAULT_MODEL = "htrconvtext-small.pt"
SUFFIX = ".pt"


@dataclass
class ModelEntry:
    """A model file and where it comes from (``shipped`` or ``user``)."""

    name: str
    path: Path
    origin: str

    @property
    def size_bytes(self) -> int:
        return self.path.stat().st_size


def list_models() -> list[ModelEntry]:
    """Shipped models first, then the user's, each sorted by name."""
    out: list[ModelEntry] = []
    for origin, folder in (("shipped", bundled_models_dir()), ("user", user_models_dir())):
        if folder.is_dir():
            out += [ModelEntry(p.stem, p, origin) for p in sorted(folder.glob(f"*{SUFFIX}")) if p.is_file()]
    return out


def default_model_path() -> Path:
    """The shipped default model; :class:`ModelError` with advice when it is not there yet."""
    path = bundled_models_dir() / DEFAULT_MODEL
    if not path.is_file():
        raise ModelError(f"{path}: the default model is not installed; pass --model with a model file, "
                         "or train one with 'htrgui train'")
    return path


def resolve_model(name_or_path: str | Path | None) -> Path:
    """A model file from a path, a name ``htrgui models list`` shows, or ``None``/``default``."""
    if name_or_path is None or str(name_or_path) == "default":
        return default_model_path()
    path = Path(name_or_path).expanduser()
    if path.is_file():
        return path
    name = path.stem if path.suffix == SUFFIX else str(name_or_path)
    # the user's models first: a fine-tune may deliberately shadow a shipped name
    for entry in sorted(list_models(), key=lambda e: e.origin != "user"):
        if entry.name == name:
            return entry.path
    known = ", ".join(e.name for e in list_models()) or "none installed"
    raise ModelError(f"{name_or_path}: no such model file or model name (known models: {known})")


def read_card(path: Path) -> dict[str, Any]:
    """The provenance of a model file (base model, training data, validation CER) and its config name, read
    from its metadata only (``weights_only``); raises ModelError naming the file when it is not one of ours."""
    from htrgui.core.recognition.checkpoint import language_model_bytes, read_payload

    payload = read_payload(path)
    card = dict(payload.get("provenance") or {})
    card.setdefault("config", (payload.get("config") or {}).get("name", ""))
    lm = language_model_bytes(payload)
    card["language_model_bytes"] = len(lm) if lm is not None else 0
    return card


def read_card_text(path: Path, limit: int = 200_000) -> str:
    """The Markdown model card beside a model file (``x.pt`` -> ``x.md``), "" when absent or unreadable."""
    card = Path(path).with_suffix(".md")
    try:
        return card.read_text(encoding="utf-8")[:limit] if card.is_file() else ""
    except (OSError, UnicodeDecodeError):
        return ""


def model_card(name_or_path_or_config: str | Path) -> dict[str, Any]:
    """What a model is: architecture and config, parameters, multiply-adds for a 64 x 1024 line, codec size,
    provenance. A config name (``base``, ``small``, ``tiny``) that is not a model describes the untrained config."""
    from htrgui.core.recognition.model import CONFIGS, HTRConvText, count_macs, count_parameters

    key = str(name_or_path_or_config)
    try:
        path = resolve_model(key)
    except ModelError:
        if key not in CONFIGS:
            raise
        cfg = CONFIGS[key]
        import torch

        with torch.device("meta"):
            params = count_parameters(HTRConvText(cfg))
        return {"name": key, "kind": "config (untrained)", "architecture": "HTRConvText", "config": cfg.to_dict(),
                "parameters": params, "macs_64x1024": count_macs(cfg, 1024),
                "codec_size": cfg.num_classes - 1}
    from htrgui.core.recognition.checkpoint import load_checkpoint

    loaded = load_checkpoint(path)
    return {"name": loaded.name, "kind": "model", "path": str(path), "file_bytes": path.stat().st_size,
            "language_model_bytes": len(loaded.language_model or b""),
            "architecture": "HTRConvText", "config": loaded.config.to_dict(),
            "parameters": count_parameters(loaded.model), "macs_64x1024": count_macs(loaded.config, 1024),
            "codec_size": len(loaded.codec), "alphabet": "".join(loaded.codec.chars),
            "stored_dtype": loaded.dtype, "preprocessing": loaded.preprocessing, "provenance": loaded.provenance}
