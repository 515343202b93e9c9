"""The training loop: a generator of :class:`Progress` the CLI prints and the GUI plots.

One step: augment each line (seeded), pad a width-bucketed batch, run the recogniser, CTC (+ TCM, +
distillation) loss, AdamW (optionally SAM) with warm-up + cosine LR, EMA update. Validation runs on whole
held-out pages with the EMA weights; the best by CER is written to the output model, a resumable state
every few minutes beside it. Closing the generator (or a :class:`CancelToken`) stops between steps and
leaves the last good files. Under ``torchrun`` each process trains on its share of the batches (DDP).
"""

from __future__ import annotations

import contextlib
import math
import random
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Iterator

import numpy as np
import torch
from torch import nn

from htrgui.core.device import pick_device
from htrgui.core.errors import Cancelled, HtrError
from htrgui.core.progress import CancelToken, Progress
from htrgui.core.recognition.model import set_regularisation
from htrgui.core.recognition.preprocess import batch_lines
from htrgui.core.training import modelio
from htrgui.core.training.augment import AugmentConfig, augment
from htrgui.core.training.data import TRAIN_MULTIPLE, LineSet, make_batches
from htrgui.core.training.losses import ctc_loss, distill_loss
from htrgui.core.training.optim import SAM, ModelEma, cosine_lr, frozen_bn_stats, param_groups
from htrgui.core.training.state import atomic_torch_save, load_state, rng_state, set_rng_state, state_dir
from htrgui.core.training.tcm import TCMHead, tcm_dims
from htrgui.core.training.validate import evaluate_lines


@dataclass
class TrainConfig:
    """Knobs of a run. Defaults are for a short CPU run; the paper's GPU recipe is 100k steps with SAM."""

    config: str = "small"
    tcm: bool = True
    ctc_weight: float = 0.1
    tcm_weight: float = 1.0
    lr: float = 1e-3
    min_lr: float = 1e-6
    warmup_steps: int = 200
    weight_decay: float = 0.05
    max_epochs: float | None = None
    max_steps: int | None = None
    max_minutes: float | None = None
    batch_columns: int = 12000        # padded columns per batch (lines x width), the real cost of a step
    max_batch_lines: int = 32
    grad_clip: float = 5.0
    sam: bool = False
    ema: bool = True
    augment: AugmentConfig = field(default_factory=AugmentConfig)
    seed: int = 123
    val_every_minutes: float = 10.0
    val_every_steps: int | None = None
    first_val_minutes: float | None = None  # an early check (fine-tuning: the curve shows at once if it helps)
    val_share: float = 0.0            # > 0: validations wait so that they take at most this share of the time
    resumable: bool = True            # False: no MODEL.train/ state (a one-click fine-tune is never resumed)
    checkpoint_every_minutes: float = 5.0
    patience: int | None = None       # validations without improvement before stopping early
    device: str = "auto"
    precision: str = "auto"           # "auto": bf16 autocast where the hardware has it (benchmarks/training.py)
    channels_last: bool | None = None  # None: on a CPU, where oneDNN's convolutions run faster that way
    freeze_bn: bool = False           # fine-tuning: tiny batches would corrupt the BatchNorm statistics
    beat_base: bool = True            # False: write the run's best even if its base reads better (a soup's runs)
    freeze: str = "none"              # "front": stem + first stage fixed, "backbone": only encoder + head learn
    dropout: float | None = None      # dropout, attention dropout and drop path all set to this (None: the model's)
    distill_weight: float = 1.0
    distill_temperature: float = 2.0


def _setup_model(train_set: LineSet, cfg: TrainConfig, base: str | None, teacher: str | None):
    """(model, codec, base info, teacher model, new letters): a base or a fresh model, the alphabet
    extended by the letters the data has and the model lacks (old ids keep their meaning)."""
    teacher_model = t_codec = None
    teacher_meta: dict = {}
    if teacher:
        teacher_model, t_codec, teacher_meta = modelio.load(teacher)
    if base:
        model, codec, base_meta = modelio.load(base)
    else:
        from htrgui.core.recognition.model import CONFIGS, build_model

        if cfg.config not in CONFIGS:
            raise HtrError(f"unknown model config {cfg.config!r}: one of {', '.join(CONFIGS)}")
        # a student distilled from a teacher starts from the teacher's alphabet
        codec = t_codec or modelio.new_codec(train_set.charset())
        # the model reads the language its teacher read (a model from scratch: the shipped one's, at decoding)
        base_meta = {"language_model": teacher_meta.get("language_model")}
        model = build_model(cfg.config, modelio.num_classes(codec))
    new_chars = sorted(train_set.charset() - set(modelio.characters(codec)))
    if new_chars:
        codec, model = modelio.extend(codec, model, new_chars)
    if teacher_model is not None:
        t_chars = modelio.characters(t_codec)
        if modelio.characters(codec)[: len(t_chars)] != t_chars:
            raise HtrError(f"{teacher}: the student's alphabet does not start with the teacher's; "
                           "distil into a new model or one fine-tuned from the teacher's alphabet")
    return model, codec, base_meta, teacher_model, new_chars


def _optimizer_step(wrapped: nn.Module, opt, sam: SAM | None, scaler, cfg: TrainConfig, batch, autocast):
    """Forward (mixed precision on GPU), backward, clip, step (SAM: at w, then at the perturbed point, where
    BatchNorm normalises with the batch as usual but leaves its running statistics as the first pass set them).

    Returns (loss, parts, stepped). A batch whose loss or gradient is not finite (an overflow on a freak line)
    is skipped: no update, and BatchNorm's running statistics put back, so one such batch cannot turn every
    weight into NaN for the rest of the run (GradScaler does the same for fp16 by itself)."""
    stats = None if scaler.is_enabled() else _bn_stats(wrapped)
    for p_i in range(2 if sam else 1):
        with autocast(), (frozen_bn_stats(wrapped) if p_i else contextlib.nullcontext()):
            loss, parts = wrapped(*batch)
        scaler.scale(loss).backward()
        if scaler.is_enabled():
            scaler.unscale_(opt)
        norm = torch.nn.utils.clip_grad_norm_([p for g in opt.param_groups for p in g["params"]], cfg.grad_clip)
        if stats is not None and not (torch.isfinite(loss.detach()) and torch.isfinite(norm)):
            if sam:
                sam.restore()
            else:
                opt.zero_grad(set_to_none=True)
            with torch.no_grad():
                for buf, saved in stats:
                    buf.copy_(saved)
            return loss, parts, False
        if sam and p_i == 0:
            sam.first_step()
    if sam:
        sam.second_step()  # restores w, then AdamW steps with the perturbed-point gradients
    else:
        scaler.step(opt)
        scaler.update()
        opt.zero_grad(set_to_none=True)
    return loss, parts, True


def _bn_stats(model: nn.Module) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """(buffer, copy) of every BatchNorm running statistic (a few thousand numbers: cheap to keep per step)."""
    return [(b, b.detach().clone()) for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)
            for b in (m.running_mean, m.running_var, m.num_batches_tracked) if b is not None]


#: Batches in a row that may be skipped as not finite before the run stops as diverged.
MAX_SKIPPED_IN_A_ROW = 25


def resolve_precision(device: torch.device, precision: str) -> str:
    """"fp32", "bf16" or "fp16" for ``device``. ``auto`` takes bf16 on a CUDA GPU that has it (else fp16 with
    loss scaling) and on a CPU with native bf16 arithmetic (AVX-512 BF16 / AMX), where it is the fastest
    setting measured by benchmarks/training.py; fp32 elsewhere."""
    if precision not in ("auto", "fp32", "bf16", "fp16"):
        raise HtrError(f"unknown precision {precision!r}: auto, fp32, bf16 or fp16")
    if precision != "auto":
        return precision
    if device.type == "cuda":
        return "bf16" if torch.cuda.is_bf16_supported() else "fp16"
    if device.type == "cpu" and cpu_has_bf16():
        return "bf16"
    return "fp32"


def cpu_has_bf16() -> bool:
    """True when this CPU computes in bf16 natively (AVX-512 BF16 or AMX; emulated bf16 is slower than fp32).
    Read from Linux's /proc/cpuinfo; elsewhere False (fp32), which is always correct, only slower."""
    try:
        flags = set(Path("/proc/cpuinfo").read_text().split())
    except OSError:
        return False
    return bool(flags & {"avx512_bf16", "amx_bf16"})


def autocast_for(device: torch.device, precision: str):
    """The autocast context of ``precision`` ("fp32": none)."""
    dtype = {"bf16": torch.bfloat16, "fp16": torch.float16}.get(precision)
    return torch.autocast(device.type, dtype=dtype or torch.float32, enabled=dtype is not None)


class _Trainable(nn.Module):
    """Model + TCM in one module so DistributedDataParallel syncs both; forward returns the losses."""

    def __init__(self, model: nn.Module, tcm: TCMHead | None) -> None:
        super().__init__()
        self.model = model
        self.tcm = tcm

    def forward(self, images, widths, targets, cfg: TrainConfig, teacher_logits=None):
        feats, lengths = self.model.forward_features(images, widths)
        logits = self.model.head(feats)
        ctc = ctc_loss(logits, lengths, targets)
        parts = {"ctc": ctc}
        total = (cfg.ctc_weight if self.tcm is not None else 1.0) * ctc
        if self.tcm is not None:
            parts["tcm"] = self.tcm(feats, lengths, targets)
            total = total + cfg.tcm_weight * parts["tcm"]
        if teacher_logits is not None:
            parts["kd"] = distill_loss(logits, teacher_logits, lengths, cfg.distill_temperature)
            total = total + cfg.distill_weight * parts["kd"]
        return total, parts


def _dist() -> tuple[int, int]:
    import os

    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world > 1 and not torch.distributed.is_initialized():
        backend = "nccl" if torch.cuda.is_available() else "gloo"
        torch.distributed.init_process_group(backend)
    if world > 1:
        return torch.distributed.get_rank(), world
    return 0, 1


def frozen_parameters(model: nn.Module, what: str) -> list[nn.Parameter]:
    """Parameters a fine-tune keeps fixed. The front end (stem, first stage) runs at the highest
    resolution, so freezing it saves the costliest part of the backward pass; it also holds the most
    generic features (strokes), which a few pages should not retune."""
    bb = model.backbone
    if what == "none":
        return []
    if what == "front":
        mods = [bb.stem, bb.stem_bn, bb.stages[0], bb.mvpe[0]]
        return [p for m in mods for p in m.parameters()]
    if what == "backbone":
        return list(bb.parameters())
    raise HtrError(f"unknown freeze setting {what!r}: none, front or backbone")


def _all_agree(flag: bool, world: int, device: torch.device) -> bool:
    """True when any process says stop: under DDP every process must take the same number of steps."""
    if world == 1:
        return flag
    t = torch.tensor([1.0 if flag else 0.0], device=device)
    torch.distributed.all_reduce(t, op=torch.distributed.ReduceOp.MAX)
    return bool(t.item())


def _feasible(model_cfg, images: list[np.ndarray], ids: list[list[int]]) -> list[int]:
    """Lines whose label fits in the frames the model emits (CTC needs a frame per letter + repeats)."""
    from htrgui.core.recognition.model import output_length

    keep = []
    for i, (im, t) in enumerate(zip(images, ids)):
        need = len(t) + sum(a == b for a, b in zip(t, t[1:]))
        if t and output_length(im.shape[1], model_cfg) >= need:
            keep.append(i)
    return keep


def train(train_set: LineSet, val_set: LineSet | None, out: Path | str, cfg: TrainConfig, *,
          base: str | None = None, teacher: str | None = None, resume: bool = False,
          cancel: CancelToken | None = None, meta: dict | None = None) -> Iterator[Progress]:
    """Train (or fine-tune ``base``) and write the best model by validation CER to ``out``."""
    out = Path(out)
    rank, world = _dist()
    device = pick_device(cfg.device)
    if world > 1 and device.type == "cuda":
        device = torch.device("cuda", rank % torch.cuda.device_count())
    torch.manual_seed(cfg.seed)
    np_rng = np.random.default_rng(cfg.seed + rank)
    py_rng = random.Random(cfg.seed + rank)

    model, codec, base_meta, teacher_model, new_chars = _setup_model(train_set, cfg, base, teacher)
    if cfg.dropout is not None:
        try:
            set_regularisation(model, cfg.dropout)
        except ValueError as exc:
            raise HtrError(f"--dropout: {exc}") from None
    model.to(device)
    precision = resolve_precision(device, cfg.precision)
    # on the CPU oneDNN's convolutions run faster channels-last, under bf16 (1.25x) and in fp32 too (1.07-1.11x
    # on an AVX2 CPU, the same losses step by step: docs/training.md)
    channels_last = cfg.channels_last if cfg.channels_last is not None else device.type == "cpu"
    if channels_last:
        model.to(memory_format=torch.channels_last)
    if teacher_model is not None:
        teacher_model.to(device).eval()
    ids = [modelio.encode(codec, t) for t in train_set.texts]
    keep = _feasible(model.config, train_set.images, ids)
    dropped = len(ids) - len(keep)
    images = [train_set.images[i] for i in keep]
    targets = [torch.tensor(ids[i], dtype=torch.long) for i in keep]
    if not images:
        raise HtrError("no training line fits the model (lines too narrow for their text)")

    tcm = TCMHead(modelio.num_classes(codec), model.config.dim, tcm_dims(model.config.dim)).to(device) \
        if cfg.tcm else None
    for p in frozen_parameters(model, cfg.freeze):
        p.requires_grad_(False)
    trainable = _Trainable(model, tcm)
    opt = torch.optim.AdamW(param_groups([m for m in (model, tcm) if m is not None], cfg.weight_decay),
                            lr=cfg.lr, betas=(0.9, 0.99))
    sam = SAM(opt) if cfg.sam else None
    ema = ModelEma(model) if cfg.ema else None

    step, epoch, pos, best_cer, history = 0, 0, 0, math.inf, []
    initial_cer = None
    warmup_end = None  # run fraction where the warm-up ended: the cosine decays from there, not from 0
    spent = 0.0  # seconds trained before this session (resume)
    sdir = state_dir(out)
    if resume and (sdir / "last.pt").is_file():
        st = load_state(sdir / "last.pt")
        if st.get("codec") != modelio.characters(codec):
            raise HtrError(f"{sdir / 'last.pt'}: the saved run has another alphabet; resume with the same data")
        model.load_state_dict(st["model"])
        if tcm is not None and st.get("tcm"):
            tcm.load_state_dict(st["tcm"])
        (sam or opt).load_state_dict(st["optimizer"])
        if ema is not None and st.get("ema"):
            ema.load_state_dict(st["ema"])
        set_rng_state(st["rng"], np_rng, py_rng)
        step, epoch, pos, best_cer = st["step"], st["epoch"], st["pos"], st["best_cer"]
        initial_cer, spent, history = st.get("initial_cer"), st.get("spent", 0.0), st.get("history", [])
        warmup_end = st.get("warmup_end")
        if not cfg.beat_base and not out.is_file():
            best_cer = math.inf  # resumed without the gate: the next validation writes the run's model
    wrapped: nn.Module = trainable
    if world > 1:
        wrapped = nn.parallel.DistributedDataParallel(
            trainable, device_ids=[device.index] if device.type == "cuda" else None)
    # fp16 needs loss scaling; SAM's two backward passes per step do not fit GradScaler's protocol
    scaler = torch.amp.GradScaler("cuda", enabled=device.type == "cuda" and precision == "fp16" and not cfg.sam)

    def eval_model() -> nn.Module:
        return ema.module if ema is not None else model

    def validate() -> float | None:
        if val_set is None or not len(val_set) or rank != 0:
            return None
        return evaluate_lines(eval_model(), codec, val_set, device)["cer"]

    def save_state(reason: str) -> None:
        if rank != 0 or not cfg.resumable:
            return
        atomic_torch_save({
            "kind": "htrgui-train-state", "reason": reason, "config": asdict(cfg),
            "model": model.state_dict(), "tcm": tcm.state_dict() if tcm is not None else None,
            "optimizer": (sam or opt).state_dict(), "ema": ema.state_dict() if ema is not None else None,
            "rng": rng_state(np_rng, py_rng), "step": step, "epoch": epoch, "pos": pos, "best_cer": best_cer,
            "initial_cer": initial_cer, "spent": spent + time.monotonic() - t0, "history": history,
            "warmup_end": warmup_end,
            "codec": modelio.characters(codec), "model_config": model.config.to_dict(),
        }, sdir / "last.pt")

    def save_model(cer: float | None) -> None:
        if rank != 0:
            return
        info = dict(meta or {}, **base_meta.get("lineage", {}))
        info.update({"val_cer": cer, "steps": step, "epochs": round(epoch + pos / max(1, n_batches), 3),
                     "train_lines": len(images), "train_config": asdict(cfg),
                     "train_minutes": round((spent + time.monotonic() - t0) / 60, 1)})
        # the base's language model travels on: a fine-tune shared as one file decodes as its base did
        modelio.save(out, eval_model(), codec, info, language_model=base_meta.get("language_model"))

    t0 = time.monotonic()
    if initial_cer is None and base and val_set is not None:
        initial_cer = validate()
        if initial_cer is not None and cfg.beat_base:
            best_cer = initial_cer  # a fine-tune must beat its base, or nothing is written
    batches = make_batches([im.shape[1] for im in images], cfg.batch_columns,
                           np.random.default_rng((cfg.seed, epoch)), max_lines=cfg.max_batch_lines)[rank::world]
    n_batches = len(batches)
    steps_per_epoch = n_batches
    total_steps = cfg.max_steps or (int(cfg.max_epochs * steps_per_epoch) if cfg.max_epochs else None)
    if total_steps is None and cfg.max_minutes is None:
        raise HtrError("give a limit: --max-epochs, --max-minutes (or both)")
    last_val = last_ckpt = time.monotonic()
    val_gap_s = 60 * (cfg.first_val_minutes if cfg.first_val_minutes is not None else cfg.val_every_minutes)
    val_cost_s = 0.0  # how long the last validation took (val_share spaces them out)
    val_cer, bad_vals, losses, stop_reason = None, 0, [], "done"
    skipped = skipped_in_a_row = 0  # batches whose loss or gradient was not finite (_optimizer_step)
    yield Progress(step, total_steps, "training", {"lines": len(images), "dropped": dropped, "world": world,
                   "new_chars": "".join(new_chars), "params":
                   sum(p.numel() for p in model.parameters()), "device": str(device), "precision": precision,
                   "initial_cer": initial_cer})

    def fraction() -> float:
        parts = []
        if total_steps:
            parts.append(step / total_steps)
        if cfg.max_minutes:
            parts.append((spent + time.monotonic() - t0) / (60 * cfg.max_minutes))
        return min(1.0, max(parts))

    try:
        while not _all_agree(fraction() >= 1.0, world, device):
            if cancel is not None:
                cancel.check()
            if pos >= n_batches:
                epoch, pos = epoch + 1, 0
                batches = make_batches([im.shape[1] for im in images], cfg.batch_columns,
                                       np.random.default_rng((cfg.seed, epoch)),
                                       max_lines=cfg.max_batch_lines)[rank::world]
                n_batches = len(batches)
            idx = batches[pos]
            pos += 1
            if warmup_end is None and step >= cfg.warmup_steps:
                warmup_end = fraction()
            lr = cosine_lr(fraction(), step, cfg.lr, cfg.warmup_steps, cfg.min_lr, warmup_fraction=warmup_end)
            for group in opt.param_groups:
                group["lr"] = lr
            wrapped.train()
            if cfg.freeze_bn:
                for m in model.modules():
                    if isinstance(m, nn.modules.batchnorm._BatchNorm):
                        m.eval()
            batch_imgs = [augment(images[i], np_rng, cfg.augment) for i in idx]
            x, w = batch_lines(batch_imgs, TRAIN_MULTIPLE)
            x, w = x.to(device), w.to(device)
            if channels_last:
                x = x.contiguous(memory_format=torch.channels_last)
            tgts = [targets[i] for i in idx]
            t_logits = None
            if teacher_model is not None:
                with torch.no_grad():
                    t_logits = teacher_model(x, w)[0]
            loss, parts, stepped = _optimizer_step(wrapped, opt, sam, scaler, cfg, (x, w, tgts, cfg, t_logits),
                                                   lambda: autocast_for(device, precision))
            if not stepped:
                skipped += 1
                skipped_in_a_row += 1
                if skipped_in_a_row >= MAX_SKIPPED_IN_A_ROW:
                    raise HtrError(f"training diverged: the loss was not finite on {skipped_in_a_row} batches in a "
                                   f"row (step {step}); try a lower learning rate (--lr) or --precision fp32")
                continue
            skipped_in_a_row = 0
            if ema is not None:
                ema.update(model)
            step += 1
            losses.append(float(loss.detach()))
            now = time.monotonic()
            due_val = (cfg.val_every_steps and step % cfg.val_every_steps == 0) or \
                (not cfg.val_every_steps and now - last_val >= val_gap_s)
            validated = bool(due_val and val_set is not None)
            if validated:
                val_cer, last_val = validate(), time.monotonic()
                val_cost_s = last_val - now
                val_gap_s = 60 * cfg.val_every_minutes
                if cfg.val_share > 0:
                    val_gap_s = max(val_gap_s, val_cost_s * (1 - cfg.val_share) / cfg.val_share)
                if val_cer is not None:
                    history.append({"step": step, "val_cer": val_cer, "loss": float(np.mean(losses[-50:]))})
                    if val_cer < best_cer:
                        best_cer, bad_vals = val_cer, 0
                        save_model(val_cer)
                    else:
                        bad_vals += 1
                save_state("periodic")
                last_ckpt = time.monotonic()
                if cfg.patience is not None and bad_vals >= cfg.patience:
                    stop_reason = "early stop"
                    break
            elif now - last_ckpt >= 60 * cfg.checkpoint_every_minutes:
                save_state("periodic")
                last_ckpt = time.monotonic()
            f = fraction()
            elapsed = spent + time.monotonic() - t0
            info = {"epoch": epoch, "loss": float(np.mean(losses[-20:])), "step_loss": losses[-1], "lr": lr,
                    **{k: float(v.detach()) for k, v in parts.items()}, "val_cer": val_cer,
                    "eta_s": round(elapsed * (1 - f) / f) if f > 0 else None, "validated": validated,
                    **({"skipped": skipped} if skipped else {})}
            yield Progress(step, total_steps, "training", info)
    except (Cancelled, GeneratorExit, KeyboardInterrupt):
        save_state("cancelled")  # between steps: a consistent state to resume from
        raise
    # Final validation: the last weights may be the best ones.
    final = validate()
    if final is not None:
        history.append({"step": step, "val_cer": final})
        if final < best_cer:
            best_cer = final
            save_model(final)
    elif rank == 0 and (val_set is None or not len(val_set)):
        save_model(None)
    save_state(stop_reason)
    if world > 1:
        torch.distributed.barrier()
    best = None if math.isinf(best_cer) else best_cer
    improved = initial_cer is None or (best is not None and best < initial_cer)
    yield Progress(step, total_steps, stop_reason, {
        "best_cer": best, "initial_cer": initial_cer, "last_cer": final, "improved": improved,
        "output": str(out) if (improved or not cfg.beat_base) and out.is_file() else None,
        "steps": step, "epochs": epoch + pos / max(1, n_batches), "dropped": dropped,
        "minutes": round((spent + time.monotonic() - t0) / 60, 2), "history": history})
