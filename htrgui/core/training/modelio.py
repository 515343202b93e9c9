"""The trainer's view of the recognition package: codecs, loading a base, saving, extending the alphabet."""

from __future__ import annotations

from pathlib import Path

from htrgui.core.recognition.checkpoint import load_checkpoint, save_checkpoint
from htrgui.core.recognition.codec import Codec
from htrgui.core.recognition.library import resolve_model
from htrgui.core.recognition.model import HTRConvText, extend_head


def new_codec(chars: set[str]) -> Codec:
    """The sorted alphabet of the training texts (no white space but the plain space)."""
    return Codec(tuple(sorted(c for c in chars if c == " " or not c.isspace())))


def num_classes(codec: Codec) -> int:
    return codec.num_classes


def characters(codec: Codec) -> list[str]:
    return codec.to_list()


def encode(codec: Codec, text: str) -> list[int]:
    return codec.encode(text)


def resolve(name_or_path: str) -> Path:
    """A model path, or a name ``htrgui models list`` shows, or ``default``."""
    return Path(resolve_model(name_or_path))


def load(name_or_path: str) -> tuple[HTRConvText, Codec, dict]:
    """(model in train-ready fp32 on CPU, codec, {"lineage", "provenance", "language_model"}) of a base model
    (``language_model``: the bytes of the one its file carries, or None)."""
    path = resolve(name_or_path)
    loaded = load_checkpoint(path)
    prov = loaded.provenance
    lineage = {"base_model": str(prov.get("name") or path.stem), "base_path": str(path)}
    return loaded.model.float().train(), loaded.codec, {"lineage": lineage, "provenance": prov,
                                                        "language_model": loaded.language_model}


def extend(codec: Codec, model: HTRConvText, new_chars: list[str]) -> tuple[Codec, HTRConvText]:
    """Append ``new_chars`` to the codec and the head; old ids and old head rows are unchanged."""
    new = codec.extend(new_chars)
    return new, extend_head(model, new.num_classes - codec.num_classes)


def save(path: Path, model: HTRConvText, codec: Codec, provenance: dict, language_model: bytes | None = None) -> None:
    """A self-describing fp16 model file (atomic), carrying ``language_model`` when given."""
    prov = dict(provenance)
    prov.setdefault("name", Path(path).stem)
    save_checkpoint(path, model, codec, provenance=_plain(prov), half=True, language_model=language_model)


def _plain(value):
    """Only plain data goes into a model file (it loads with weights_only=True)."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return str(value)
