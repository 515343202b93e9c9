"""Recognition speed: lines per second and peak memory, per model, batch size and device.

Real line crops from ../shared/data (the general test split, shuffled with a fixed seed, so short table
cells and long lines mix as on real pages). The engine runs as the app runs it: width buckets, BatchNorm
folded, greedy decoding included; cropping is timed separately. Each measurement runs in a fresh process
so peak memory is its own. Prints one JSON object per measurement, and a JSON list on the last line.

    python benchmarks/recognition.py                       # small and base, CPU, batch 1 and 8/16
    python benchmarks/recognition.py --models small --batch-sizes 1,4,8,16 --threads 1,2
    python benchmarks/recognition.py --device cuda --models base --batch-sizes 64,256,512 --dtype bf16

Weights are random unless --checkpoint is given (speed does not depend on them; the decoder then sees
noise, which costs it about what real text does).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from htrgui.core.paths import shared_dir  # noqa: E402
SHARED = shared_dir()


def collect_lines(n: int, seed: int = 0):
    """(crops, seconds spent cropping) for ``n`` real lines of the test pages."""
    import numpy as np

    from htrgui.core.imaging import load_image
    from htrgui.core.io import read_document
    from htrgui.core.recognition.linecrop import crop_line

    data = SHARED / "data"
    splits = json.loads((data / "splits.json").read_text(encoding="utf-8"))
    pages = list(splits["general"]["test"])
    random.Random(seed).shuffle(pages)
    crops, crop_s = [], 0.0
    for stem in pages:
        page = read_document(data / f"{stem}.xml")
        gray = load_image(page.image_path, mode="L")
        t = time.perf_counter()
        for line in page.lines():
            try:
                crops.append(crop_line(gray, line))
            except ValueError:
                pass
        crop_s += time.perf_counter() - t
        if len(crops) >= 4 * n:
            break
    random.Random(seed).shuffle(crops)
    picked = crops[:n]
    return picked, crop_s / max(len(crops), 1) * len(picked), np


def worker(spec: dict) -> dict:
    """One measurement in this process."""
    import numpy as np
    import torch

    from htrgui.core.recognition.checkpoint import LoadedModel, load_checkpoint
    from htrgui.core.recognition.codec import Codec
    from htrgui.core.recognition.engine import Recognizer
    from htrgui.core.recognition.model import build_model, count_parameters

    data = np.load(spec["lines"])
    lines = [data[k] for k in sorted(data.files, key=lambda s: int(s))]
    torch.manual_seed(0)
    if spec.get("checkpoint"):
        loaded = load_checkpoint(spec["checkpoint"])
    else:
        codec = Codec(tuple(chr(c) for c in range(32, 32 + 99)))
        model = build_model(spec["model"], num_classes=codec.num_classes).eval()
        loaded = LoadedModel(model=model, codec=codec, config=model.config, provenance={"name": spec["model"]})
    params = count_parameters(loaded.model)
    rec = Recognizer(loaded, device=spec["device"], batch_size=spec["batch"], threads=spec["threads"])
    if spec["dtype"] == "fp32":
        rec.amp_dtype = None
    elif spec["dtype"] == "fp16":
        rec.amp_dtype = torch.float16
    elif spec["dtype"] == "bf16":
        rec.amp_dtype = torch.bfloat16  # on CPU too (autocast), where the CPU has bf16 instructions
    items = [(str(i), img) for i, img in enumerate(lines)]
    warm = items[: max(spec["batch"], 4)]
    for _ in rec.recognize_lines(warm):  # first calls pick kernels
        pass
    if rec.device.type == "cuda":
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
    done, start, cpu_start = 0, time.perf_counter(), time.process_time()
    deadline = start + spec["seconds"]
    while True:  # whole passes over the lines until the time budget is used
        for _ in rec.recognize_lines(items):
            done += 1
        if time.perf_counter() > deadline:
            break
    if rec.device.type == "cuda":
        torch.cuda.synchronize()
    elapsed = time.perf_counter() - start
    cpu = time.process_time() - cpu_start
    out = {"model": spec["model"], "params": params, "device": str(rec.device), "dtype": spec["dtype"],
           "batch": spec["batch"], "threads": torch.get_num_threads(), "lines": done,
           "seconds": round(elapsed, 2), "lines_per_s": round(done / elapsed, 2),
           # CPU seconds used by all our threads: on a shared machine the wall-clock rate depends on the
           # others, this one much less (threads=1 makes it the single-core rate)
           "lines_per_cpu_s": round(done / max(cpu, 1e-9), 2),
           "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
           "mean_width": round(float(np.mean([img.shape[1] for img in lines])), 1)}
    if rec.device.type == "cuda":
        out["peak_gpu_mb"] = round(torch.cuda.max_memory_allocated() / 2**20, 1)
        out["gpu"] = torch.cuda.get_device_name()
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", default="small,base")
    ap.add_argument("--batch-sizes", default="1,8")
    ap.add_argument("--threads", default=str(os.cpu_count() or 1), help="comma list of CPU thread counts")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--dtype", default="auto", choices=("auto", "fp32", "bf16", "fp16"))
    ap.add_argument("--lines", type=int, default=64)
    ap.add_argument("--base-lines", type=int, default=16, help="fewer lines for base on CPU (it is slow there)")
    ap.add_argument("--out", default=None, help="also write the JSON list to this file")
    ap.add_argument("--seconds", type=float, default=10.0, help="minimum timed seconds per measurement")
    ap.add_argument("--checkpoint", default=None, help="use this model file for 'small' instead of random weights")
    ap.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        print(json.dumps(worker(json.loads(args.worker))))
        return 0
    import numpy as np

    lines, crop_s, _ = collect_lines(args.lines)
    results = []
    header = {"what": "line crops", "lines": len(lines), "crop_lines_per_s": round(len(lines) / max(crop_s, 1e-9), 1),
              "load_avg_1m": os.getloadavg()[0], "cpus": os.cpu_count()}
    print(json.dumps(header), flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        for model in args.models.split(","):
            n = args.base_lines if model == "base" and args.device == "cpu" else len(lines)
            path = Path(tmp) / f"lines_{n}.npz"
            if not path.exists():
                np.savez(path, **{str(i): img for i, img in enumerate(lines[:n])})
            for threads in [int(t) for t in args.threads.split(",")]:
                for batch in [int(b) for b in args.batch_sizes.split(",")]:
                    spec = {"model": model, "batch": batch, "threads": threads, "device": args.device,
                            "dtype": args.dtype, "lines": str(path), "seconds": args.seconds,
                            "checkpoint": args.checkpoint if model == "small" else None}
                    proc = subprocess.run([sys.executable, __file__, "--worker", json.dumps(spec)],
                                          capture_output=True, text=True)
                    if proc.returncode != 0:
                        res = {"model": model, "batch": batch, "error": proc.stderr.strip().splitlines()[-1:]}
                    else:
                        res = json.loads(proc.stdout.strip().splitlines()[-1])
                    res["load_avg_1m"] = round(os.getloadavg()[0], 2)
                    print(json.dumps(res), flush=True)
                    results.append(res)
    print(json.dumps([header] + results))
    if args.out:
        Path(args.out).write_text(json.dumps([header] + results, indent=1) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
