"""``htrgui train`` under torchrun with two CPU processes (DistributedDataParallel over gloo)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_two_cpu_processes_train_one_model(narrow_lines, tmp_path):
    from htrgui.core.recognition.checkpoint import load_checkpoint

    pages = narrow_lines.page_names()
    train_set, val_set = narrow_lines.split_pages([pages[-1]])
    train_set.save(tmp_path / "train.npz")
    val_set.save(tmp_path / "val.npz")
    out = tmp_path / "ddp.pt"
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nnodes", "1", "--nproc-per-node", "2",
           "--master-addr", "127.0.0.1", "--master-port", str(_free_port()), "-m", "htrgui", "train",
           "--train", str(tmp_path / "train.npz"), "--val", str(tmp_path / "val.npz"), "-o", str(out),
           "--config", "tiny", "--max-steps", "3", "--warmup-steps", "1", "--batch-columns", "3000", "--no-augment"]
    result = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300, cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "world=2" in result.stderr
    reports = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    # one summary (process 0); the run ending at all shows both processes took the same 3 steps,
    # since every DDP step is a collective both must enter
    assert len(reports) == 1 and reports[0]["steps"] == 3
    loaded = load_checkpoint(out)
    assert loaded.provenance["steps"] == 3
