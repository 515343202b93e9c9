"""Self-describing model files.

A checkpoint is a ``torch.save`` of plain data only (dicts, lists, strings, numbers, tensors), so it loads
with ``torch.load(weights_only=True)``: a file carrying pickled code is refused by torch before anything of
it runs. It holds the format name and version, the architecture and its config, the codec, the
preprocessing, provenance (training data summary, base model, validation error rates, date) and the
weights, stored as fp16 by default (the fp32 copy gives the same text; a test checks it), and the model's
character language model (``language_model``: the bytes of its ``.npz``, as a uint8 tensor), so that a model
file is all a decoder needs and a fine-tune carries its base's language on to whoever it is shared with.
Anything the trainer wants to keep beside the weights (optimiser, TCM head) goes in ``extra``; inference never
reads it, and shipped models should not carry it.
"""

from __future__ import annotations

import datetime as _dt
import io
import os
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from htrgui.core.errors import ModelError
from htrgui.core.io import atomic_write_bytes
from htrgui.core.recognition.codec import Codec
from htrgui.core.recognition.model import HEIGHT, HTRConvText, ModelConfig

FORMAT = "htrgui-htrconvtext"
VERSION = 1
ARCHITECTURE = "HTRConvText"

#: What the engine does to a line before the model sees it (kept in the file so others can reproduce it).
DEFAULT_PREPROCESSING: dict[str, Any] = {
    "height": HEIGHT,
    "max_width": 4096,
    "value_range": [0.0, 1.0],
    "ink": "dark on white (1.0)",
    "pad_value": 1.0,
    "crop": "polygon mask, background filled with the paper tone",
}


@dataclass
class LoadedModel:
    """A model ready to run, with what its file says about it."""

    model: HTRConvText
    codec: Codec
    config: ModelConfig
    preprocessing: dict[str, Any] = field(default_factory=dict)
    provenance: dict[str, Any] = field(default_factory=dict)
    path: Path | None = None
    dtype: str = "float32"
    extra: dict[str, Any] = field(default_factory=dict)
    language_model: bytes | None = None  # the .npz bytes of the language model the file carries

    @property
    def name(self) -> str:
        return str(self.provenance.get("name") or (self.path.stem if self.path else "model"))


def stored_state(state: dict[str, Any], half: bool = True) -> dict[str, Any]:
    """The tensors of ``state`` as a model file stores them: on the CPU, floats in fp16 unless ``half`` is off."""
    out = {}
    for key, value in state.items():
        value = value.detach().cpu()
        out[key] = value.half() if half and value.is_floating_point() else value.clone()
    return out


def save_checkpoint(path: str | os.PathLike, model: HTRConvText, codec: Codec, *,
                    provenance: dict[str, Any] | None = None, preprocessing: dict[str, Any] | None = None,
                    half: bool = True, extra: dict[str, Any] | None = None,
                    language_model: bytes | None = None) -> Path:
    """Write ``model`` and ``codec`` to ``path`` atomically (a crash never leaves half a file), with the
    language model ``language_model`` (:meth:`CharNgramLM.to_bytes`) when given."""
    path = Path(path)
    if codec.num_classes != model.config.num_classes:
        raise ModelError(f"{path}: codec has {codec.num_classes} classes (blank included), "
                         f"model head has {model.config.num_classes}")
    state = stored_state(model.state_dict(), half)
    prov = dict(provenance or {})
    prov.setdefault("date", _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"))
    payload = {
        "format": FORMAT,
        "format_version": VERSION,
        "architecture": ARCHITECTURE,
        "config": model.config.to_dict(),
        "codec": codec.to_list(),
        "preprocessing": dict(preprocessing or DEFAULT_PREPROCESSING),
        "provenance": prov,
        "dtype": "float16" if half else "float32",
        "state_dict": state,
        "extra": dict(extra or {}),
    }
    if language_model is not None:
        payload[LM_KEY] = _lm_tensor(language_model)
    _write(path, payload)
    return path


#: Where a checkpoint keeps its language model.
LM_KEY = "language_model"


def _lm_tensor(data: bytes) -> torch.Tensor:
    return torch.frombuffer(bytearray(data), dtype=torch.uint8) if data else torch.zeros(0, dtype=torch.uint8)


def _write(path: Path, payload: dict[str, Any]) -> None:
    buf = io.BytesIO()
    torch.save(payload, buf)
    atomic_write_bytes(path, buf.getvalue())


def language_model_bytes(payload: dict[str, Any]) -> bytes | None:
    """The language model a checkpoint dict carries (the ``.npz`` bytes), None when it has none."""
    value = payload.get(LM_KEY)
    if not isinstance(value, torch.Tensor) or value.dtype != torch.uint8 or value.dim() != 1 or not len(value):
        return None
    return value.numpy().tobytes()


def set_language_model(path: str | os.PathLike, language_model: bytes | None) -> Path:
    """Put ``language_model`` into the model file ``path`` (None removes it), rewriting it atomically; the
    weights and everything else are kept as they are."""
    path = Path(path)
    payload = read_payload(path)
    if language_model is None:
        payload.pop(LM_KEY, None)
    else:
        payload[LM_KEY] = _lm_tensor(language_model)
    _write(path, payload)
    return path


def read_payload(path: str | os.PathLike) -> dict[str, Any]:
    """The raw checkpoint dict, checked to be ours; raises :class:`ModelError` naming the file otherwise."""
    path = Path(path)
    if not path.is_file():
        raise ModelError(f"{path}: no such model file")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises UnpicklingError, RuntimeError, EOFError, zip errors...
        text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        if "weights_only" in str(exc) or "Unsupported global" in str(exc):
            why = "it contains pickled code or objects, which are never loaded"
        elif isinstance(exc, (EOFError, zipfile.BadZipFile)) or "zip archive" in text or "central directory" in text:
            why = "the file is truncated or damaged"
        else:
            why = f"it is not a model file ({text[:200]})"
        raise ModelError(f"{path}: cannot load this model: {why}") from None
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise ModelError(f"{path}: not an htrgui HTR-ConvText model (no '{FORMAT}' header); "
                         "models from other tools cannot be used directly")
    version = payload.get("format_version")
    if not isinstance(version, int) or version > VERSION:
        raise ModelError(f"{path}: model format version {version!r} is newer than this htrgui reads ({VERSION})")
    if payload.get("architecture") != ARCHITECTURE:
        raise ModelError(f"{path}: unknown architecture {payload.get('architecture')!r}")
    for key in ("config", "codec", "state_dict"):
        if key not in payload:
            raise ModelError(f"{path}: model file lacks its '{key}'")
    return payload


def load_checkpoint(path: str | os.PathLike, device: str | torch.device = "cpu") -> LoadedModel:
    """Build the model a checkpoint describes, load its weights (fp32), put it in eval mode on ``device``."""
    path = Path(path)
    payload = read_payload(path)
    try:
        config = ModelConfig.from_dict(payload["config"])
        codec = Codec.from_list(payload["codec"])
    except (TypeError, ValueError) as exc:
        raise ModelError(f"{path}: bad model description: {exc}") from None
    if codec.num_classes != config.num_classes:
        raise ModelError(f"{path}: codec of {len(codec)} characters does not fit a head of {config.num_classes}")
    model = HTRConvText(config)
    state = {k: (v.float() if v.is_floating_point() else v) for k, v in payload["state_dict"].items()}
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        raise ModelError(f"{path}: weights do not match the described model: {str(exc)[:300]}") from None
    model.eval().to(device)
    return LoadedModel(model=model, codec=codec, config=config,
                       preprocessing=dict(payload.get("preprocessing") or {}),
                       provenance=dict(payload.get("provenance") or {}), path=path,
                       dtype=str(payload.get("dtype", "float32")), extra=dict(payload.get("extra") or {}),
                       language_model=language_model_bytes(payload))
