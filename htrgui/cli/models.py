"""``htrgui models``: list the shipped and the user's models, show a model's card."""

from __future__ import annotations

import argparse
import json

HELP = "list models, or show a model's card (architecture, size, alphabet, provenance)"


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("models", help=HELP, description=HELP)
    sub = p.add_subparsers(dest="models_command", metavar="ACTION", required=True)
    ls = sub.add_parser("list", help="list the shipped and the user's models")
    ls.add_argument("--json", action="store_true", help="print JSON")
    show = sub.add_parser("show", help="print a model's card")
    show.add_argument("model", metavar="NAME_OR_PATH_OR_CONFIG",
                      help="a model file, a name from 'models list', or a config: base, small, tiny")
    show.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=run)


def _human(n: float) -> str:
    for unit in ("", "k", "M", "G"):
        if abs(n) < 1000:
            return f"{n:.3g}{unit}"
        n /= 1000
    return f"{n:.3g}T"


def run(args: argparse.Namespace) -> int:
    from htrgui.core.recognition.library import list_models, model_card

    if args.models_command == "list":
        entries = list_models()
        if args.json:
            print(json.dumps([{"name": e.name, "origin": e.origin, "path": str(e.path), "bytes": e.size_bytes}
                              for e in entries]))
        elif not entries:
            print("no models installed (shipped models live in models/, yours in the user data folder)")
        for e in [] if args.json else entries:
            print(f"{e.name:32s} {e.origin:8s} {e.size_bytes / 1e6:7.1f} MB  {e.path}")
        return 0
    card = model_card(args.model)
    if args.json:
        print(json.dumps(card, ensure_ascii=False, indent=1))
        return 0
    cfg = card["config"]
    print(f"{card['name']} ({card['kind']})")
    if "path" in card:
        print(f"  file            {card['path']} ({card['file_bytes'] / 1e6:.1f} MB, stored {card['stored_dtype']})")
    print(f"  architecture    HTR-ConvText d={cfg['dim']} depth={cfg['depth']} heads={cfg['heads']} "
          f"mlp={cfg['mlp_ratio']} mv_head_dim={cfg['mv_head_dim']} mv_stages={cfg['mv_stages']} "
          f"stem_stride_w={cfg['stem_stride_w']} standardize={cfg['standardize']}")
    print(f"  parameters      {card['parameters']:,} ({_human(card['parameters'])})")
    print(f"  multiply-adds   {_human(card['macs_64x1024'])} per 64 x 1024 line")
    print(f"  alphabet        {card['codec_size']} characters" +
          (f": {card['alphabet']}" if card.get("alphabet") else ""))
    if card.get("language_model_bytes"):
        from htrgui.core.recognition.lm import LanguageModelError, model_lm

        try:
            lm = model_lm(card["path"]).describe()
            print(f"  language model  its own: character {lm['order']}-gram, {lm['ngrams']:,} n-grams"
                  + (f" from {lm['lines']:,} lines" if lm.get("lines") else "")
                  + f" ({card['language_model_bytes'] / 1e6:.1f} MB)")
        except LanguageModelError as exc:
            print(f"  language model  damaged: {exc}")
    elif "language_model_bytes" in card:
        print("  language model  none of its own: reads with the shipped model's")
    for key, value in (card.get("provenance") or {}).items():
        print(f"  {key:15s} {json.dumps(value, ensure_ascii=False) if not isinstance(value, str) else value}")
    return 0
