"""Measure recognition and fine-tuning speed on this machine (the numbers behind ``htrgui doctor``).

Lines/s and a training step are timed on synthetic lines (64 px high, ink strokes on white): the cost of the
network does not depend on what is written, only on the line size, so no data set is needed. A training step is
what a fine-tune repeats: forward, CTC loss, backward and an AdamW update on a batch of lines. The time per page
is the whole pipeline on a page image (:func:`measure_page`): segmentation, line crops, recognition and the
decoding the app uses, on a page rendered here at the size of a real scan (no scan ships with the app).
"""

from __future__ import annotations

import math
import statistics
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterator

if TYPE_CHECKING:
    import numpy as np

from htrgui.core.errors import ModelError
from htrgui.core.progress import CancelToken, Progress

#: Width of the synthetic lines timed: a typical line of a scanned page, 64 px high, resized.
LINE_WIDTH = 800
#: Padded line columns per fine-tuning batch when the trainer does not say (its ``batch_columns`` default).
TRAIN_COLUMNS = 12000
#: A typical fine-tune: about 20 corrected pages (~500 lines), 10 passes over them (the one click's rule).
FINETUNE_LINES = 500
FINETUNE_EPOCHS = 10
#: A page of a register or letter holds about this many lines: used to turn lines/s into seconds per page.
LINES_PER_PAGE = 30
#: The page the pipeline is timed on: the size of the real scans the model was made for (a will of
#: ../shared/data is 1588 x 2181 px), with LINES_PER_PAGE lines of text.
SAMPLE_PAGE_SIZE = (1600, 2200)
#: Its text. ASCII: Pillow's built-in font has no accented letters, and what is written does not change the cost.
SAMPLE_TEXT = (
    "Je soussigne, sain de corps et d'esprit, declare leguer a ma chere epouse tous mes biens meubles et "
    "immeubles, ainsi que la jouissance de la maison de la rue des Ecoles. Fait a Verdun, le 12 mars 1916. "
    "Received with deep sympathy the news of the death of Mrs. Stanford; the trustees of the university "
    "join in expressing their sorrow. Repertoire des actes recus par Maitre Dufour, notaire a Paris, 1851: "
    "vente, obligation, quittance, inventaire apres deces, contrat de mariage, procuration. "
)


@dataclass
class SpeedEstimate:
    """Measured on this machine with synthetic 64-px lines; ``finetune_s`` = ``train_step_s`` x ``finetune_steps``.

    A training step is timed as the fine-tuning recipe runs it (front end and BatchNorm frozen, the trainer's
    batch size); ``finetune_steps`` covers ``finetune_lines`` lines ``finetune_epochs`` times.
    """

    device: str
    model: str
    threads: int
    line_width: int
    batch_size: int
    lines_per_s: float
    train_batch_size: int
    train_step_s: float
    finetune_steps: int
    finetune_s: float
    measured_s: float
    finetune_lines: int = FINETUNE_LINES
    finetune_epochs: int = FINETUNE_EPOCHS

    @property
    def page_s(self) -> float:
        """Seconds to recognise a page of :data:`LINES_PER_PAGE` lines."""
        return LINES_PER_PAGE / self.lines_per_s




@dataclass
class PageTiming:
    """One page through the whole pipeline, as ``htrgui recognize`` and the app run it."""

    seconds: float  #: segmentation + line crops + recognition + decoding
    segment_s: float
    recognise_s: float  #: line crops, the network and the decoding
    lines: int  #: lines the segmentation found
    width: int
    height: int
    decoding: str
    model: str
    device: str
    page: str = "rendered"  #: what was timed: a page rendered here, or the path of a scan given


def sample_page(lines: int = LINES_PER_PAGE, size: tuple[int, int] = SAMPLE_PAGE_SIZE, seed: int = 0
                ) -> "np.ndarray":
    """A grey page of ``lines`` lines of text on a paper-toned, slightly noisy background, each line a little
    tilted and wavy like a hand's (uint8, H x W). Pillow's built-in scalable font: no font file needed."""
    import numpy as np
    from PIL import Image, ImageDraw, ImageFont

    rng = np.random.default_rng(seed)
    width, height = size
    margin_x, margin_y = int(width * 0.09), int(height * 0.07)
    pitch = (height - 2 * margin_y) / lines
    font = ImageFont.load_default(size=max(10, int(pitch * 0.5)))
    page = Image.new("L", size, 232)
    words = SAMPLE_TEXT.split()
    at = 0
    for i in range(lines):
        text, room = [], width - 2 * margin_x - int(rng.integers(0, width // 6))
        while True:
            word = words[at % len(words)]
            if text and font.getlength(" ".join(text + [word])) > room:
                break
            text.append(word)
            at += 1
        strip = Image.new("L", (width - margin_x, int(pitch * 1.6)), 0)
        ImageDraw.Draw(strip).text((0, int(pitch * 0.3)), " ".join(text), fill=255, font=font)
        strip = strip.rotate(float(rng.uniform(-1.2, 1.2)), resample=Image.BILINEAR, expand=False)
        ink = Image.new("L", strip.size, int(rng.integers(30, 70)))
        page.paste(ink, (margin_x + int(rng.integers(-10, 10)), int(margin_y + i * pitch - pitch * 0.3)), strip)
    gray = np.asarray(page, dtype=np.float32) + rng.normal(0, 6, (height, width))
    return np.clip(gray, 0, 255).astype(np.uint8)


def page_recognizer(model: str | None, device: str, config: str):
    """The recognizer ``htrgui recognize`` makes by default: beam search with the model's language model (its
    own, else the shipped one's) when there is one, else greedy decoding. Returns (recognizer, decoding label,
    model label)."""
    from htrgui.core.recognition import decode
    from htrgui.core.recognition.engine import Recognizer

    loaded, label = load_timing_model(model, config)
    try:
        from htrgui.core.recognition.lm import decoding_lm

        source = _model_file(model)
        lm = decoding_lm("model", source) if source is not None else None
    except Exception:  # noqa: BLE001 - no language model (or none readable): the app then decodes greedily
        lm = None
    beam = decode.DEFAULT_BEAM if lm is not None else 1
    recognizer = Recognizer(loaded, device=device, beam_width=beam, lm=lm)
    return recognizer, (f"beam {beam} with the language model" if lm is not None else "greedy"), label


def _model_file(model: str | None) -> Path | None:
    """The checkpoint file ``model`` names (the shipped default when None), or None when there is none."""
    if model is not None and Path(model).is_file():
        return Path(model)
    try:
        from htrgui.core.recognition.library import default_model_path, resolve_model

        return Path(resolve_model(model)) if model is not None else Path(default_model_path())
    except ModelError:
        return None


def measure_page(model: str | None = None, device: str = "cpu", config: str = "small",
                 image: "np.ndarray | None" = None, token: CancelToken | None = None
                 ) -> Iterator[Progress | PageTiming]:
    """Time one page through segmentation, line crops, recognition and decoding; yields Progress, then the
    :class:`PageTiming`. ``image``: a grey page to time (default: :func:`sample_page`). The model and its
    language model are loaded, and the network warmed up on two lines, before the clock starts: the app does
    that once per session, not per page."""
    import torch

    from htrgui.core.document import Page
    from htrgui.core.segmentation import segment_page

    yield Progress(0, 3, "preparing a page")
    gray = sample_page() if image is None else image
    recognizer, decoding, label = page_recognizer(model, device, config)
    recognizer.decode_batch([(line[0].numpy() * 255).astype("uint8") for line in synthetic_lines(2, LINE_WIDTH)])
    dev = recognizer.device

    def sync() -> None:
        if dev.type == "cuda":
            torch.cuda.synchronize(dev)

    if token is not None:
        token.check()
    yield Progress(1, 3, "timing a page: segmentation")
    height, width = gray.shape[:2]
    t0 = time.perf_counter()
    page = Page(image_filename="sample.png", width=width, height=height)
    page.regions = segment_page(gray)
    t1 = time.perf_counter()
    yield Progress(2, 3, "timing a page: recognition")
    t1b = time.perf_counter()
    found = 0
    for _result in recognizer.recognize_page(page, gray):  # writing the text back costs nothing to time
        found += 1
        if token is not None:
            token.check()
    sync()
    t2 = time.perf_counter()
    yield Progress(3, 3, "done")
    segment_s, recognise_s = t1 - t0, t2 - t1b
    yield PageTiming(seconds=segment_s + recognise_s, segment_s=segment_s, recognise_s=recognise_s, lines=found,
                     width=width, height=height, decoding=decoding, model=label, device=str(dev),
                     page="rendered" if image is None else "given")


def synthetic_lines(batch: int, width: int, seed: int = 0):
    """(batch, 1, 64, width) float lines in [0, 1], white background with dark wavy strokes."""
    import torch

    gen = torch.Generator().manual_seed(seed)
    x = torch.linspace(0, 1, width)
    images = torch.ones(batch, 1, 64, width)
    rows = torch.arange(64).float()[:, None]
    for b in range(batch):
        for _ in range(3):
            freq = 20 + 60 * torch.rand(1, generator=gen).item()
            phase = 6.3 * torch.rand(1, generator=gen).item()
            centre = 20 + 24 * torch.rand(1, generator=gen).item()
            y = centre + 10 * torch.sin(freq * x + phase)
            ink = (rows - y[None, :]).abs() < 1.5
            images[b, 0][ink] = 0.1
    return images


def load_timing_model(model: str | None, config: str):
    """The model to time (a ``LoadedModel``) and its label: ``model`` (name or path), else the shipped
    default, else random weights of ``config`` (the same architecture costs the same, whatever its weights)."""
    import string

    from htrgui.core.recognition.checkpoint import LoadedModel, load_checkpoint
    from htrgui.core.recognition.codec import Codec
    from htrgui.core.recognition.model import build_model

    path: Path | None = None
    if model is not None and Path(model).is_file():
        path = Path(model)
    elif model is not None:
        from htrgui.core.recognition.library import resolve_model  # a model name from the library

        path = Path(resolve_model(model))
    else:
        try:
            from htrgui.core.recognition.library import default_model_path

            path = Path(default_model_path())
        except ModelError:
            path = None  # nothing shipped yet: time the architecture itself
    if path is not None:
        return load_checkpoint(path), path.name
    codec = Codec.from_texts([string.ascii_letters + string.digits + string.punctuation + " éèàçù"])
    net = build_model(config, codec.num_classes)
    return LoadedModel(model=net, codec=codec, config=net.config), f"{config} (random weights: no model shipped)"


def finetune_recipe() -> tuple[int, Callable]:
    """The trainer's padded columns per batch and its "which parameters stay fixed" function, so the timed
    step is the step a fine-tune runs; defaults (full backward) when the training package is absent."""
    try:
        from htrgui.core.training.trainer import TrainConfig, frozen_parameters

        return int(TrainConfig().batch_columns), lambda net: frozen_parameters(net, "front")
    except (ImportError, AttributeError, TypeError):
        return TRAIN_COLUMNS, lambda net: []


def _seconds_per_call(fn: Callable[[], None], budget_s: float, sync: Callable[[], None],
                      token: CancelToken | None, min_calls: int = 1, max_calls: int = 100) -> float:
    """Median wall time of ``fn`` over as many calls as fit in ``budget_s`` (at least ``min_calls``).

    The median, not the mean: on a shared machine one call slowed by another program should not set the
    estimate.
    """
    times: list[float] = []
    start = time.perf_counter()
    while len(times) < min_calls or (time.perf_counter() - start < budget_s and len(times) < max_calls):
        if token is not None:
            token.check()
        t0 = time.perf_counter()
        fn()
        sync()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def measure_speed(model: str | None = None, device: str = "cpu", config: str = "small", seconds: float = 3.0,
                  token: CancelToken | None = None, batch: int | None = None,
                  train_batch: int | None = None, width: int = LINE_WIDTH, finetune_lines: int = FINETUNE_LINES,
                  finetune_epochs: int = FINETUNE_EPOCHS) -> Iterator[Progress | SpeedEstimate]:
    """Time recognition (lines/s) and one fine-tuning step; yields Progress, then the :class:`SpeedEstimate`.

    ``batch``: lines per recognition batch (default: the engine's, 8 on a CPU, 64 on a GPU).
    ``train_batch``: lines per step (default: as many ``width``-px lines as the trainer puts in a batch).
    Each timing is preceded by an untimed warm-up call: the first call allocates memory and picks kernels and
    would make the estimate pessimistic.
    """
    import torch

    from htrgui.core.recognition.engine import Recognizer

    columns, frozen = finetune_recipe()
    train_batch = train_batch or max(1, columns // width)
    began = time.perf_counter()
    total = 5
    yield Progress(0, total, "loading the model")
    loaded, label = load_timing_model(model, config)
    # Recognition through the engine the app uses (BatchNorm folded, channels-last, mixed precision and
    # 64-line batches on a GPU), on a copy: the training step below uses the plain network.
    # with the caller's thread count: the estimate is filed under it, and the training that follows uses it
    recognizer = Recognizer(loaded, device=device, batch_size=batch, threads=torch.get_num_threads())
    dev = recognizer.device
    net = loaded.model.to(dev)

    def sync() -> None:
        if dev.type == "cuda":
            torch.cuda.synchronize(dev)
        elif dev.type == "mps":
            torch.mps.synchronize()

    lines = [(line[0].numpy() * 255).astype("uint8") for line in synthetic_lines(recognizer.batch_size, width)]

    def recognise() -> None:
        recognizer.decode_batch(lines)

    yield Progress(1, total, "warming up recognition")
    recognise()
    sync()
    yield Progress(2, total, "timing recognition")
    rec_s = _seconds_per_call(recognise, seconds, sync, token)

    # Fine-tuning as the recipe runs it: train mode (dropout on) but BatchNorm statistics and the front end
    # frozen, CTC loss on random labels of a plausible length, AdamW update of the rest.
    net.train()
    for m in net.modules():
        if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
            m.eval()
    for p in frozen(net):
        p.requires_grad_(False)
    opt = torch.optim.AdamW([p for p in net.parameters() if p.requires_grad], lr=1e-5)
    ctc = torch.nn.CTCLoss(blank=0, zero_infinity=True)
    t_images = synthetic_lines(train_batch, width, seed=1).to(dev)
    t_widths = torch.full((train_batch,), width, dtype=torch.long, device=dev)
    n_classes = int(net.head.out_features) if hasattr(net, "head") else 80
    target_len = max(1, width // 20)  # about one letter per 20 px at height 64
    targets = torch.randint(1, n_classes, (train_batch, target_len), generator=torch.Generator().manual_seed(2))
    targets = targets.to(dev)

    # The trainer runs CUDA in mixed precision (bf16 where the card has it); the loss is taken in fp32.
    amp_dtype = torch.bfloat16 if dev.type == "cuda" and torch.cuda.is_bf16_supported() else torch.float16

    def train_step(imgs=t_images, wids=t_widths, tgts=targets) -> None:
        with torch.autocast(dev.type, dtype=amp_dtype, enabled=dev.type == "cuda"):
            logits, lengths = net(imgs, wids)
        loss = ctc(logits.float().log_softmax(-1).transpose(0, 1), tgts, lengths,
                   torch.full((imgs.shape[0],), tgts.shape[1], dtype=torch.long, device=dev))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    yield Progress(3, total, "warming up fine-tuning")
    # Warm up on a quarter batch: the first backward and optimiser step allocate, not the batch size.
    warm = max(1, train_batch // 4)
    train_step(t_images[:warm], t_widths[:warm], targets[:warm])
    sync()
    yield Progress(4, total, "timing a fine-tuning step")
    step_s = _seconds_per_call(train_step, seconds, sync, token)
    opt.zero_grad(set_to_none=True)
    yield Progress(5, total, "done")
    steps = math.ceil(finetune_lines * finetune_epochs / train_batch)
    yield SpeedEstimate(
        device=str(dev), model=label, threads=torch.get_num_threads(), line_width=width,
        batch_size=recognizer.batch_size, lines_per_s=recognizer.batch_size / rec_s, train_batch_size=train_batch, train_step_s=step_s,
        finetune_steps=steps, finetune_s=step_s * steps, measured_s=time.perf_counter() - began,
        finetune_lines=finetune_lines, finetune_epochs=finetune_epochs,
    )


# ---------------------------------------------------------------- the last measurement, kept for estimates
SPEED_FILE = "speed.json"


def save_estimate(estimate: SpeedEstimate) -> None:
    """Keep the measurement in the user data folder: the fine-tune estimates its duration from it."""
    import json
    from dataclasses import asdict

    from htrgui.core.fileio import atomic_write_bytes
    from htrgui.core.paths import user_data_dir

    record = dict(asdict(estimate), measured_at=time.strftime("%Y-%m-%d %H:%M"))
    try:
        atomic_write_bytes(user_data_dir() / SPEED_FILE, json.dumps(record, indent=1).encode("utf-8"))
    except OSError:
        pass  # an estimate is a convenience: without the file the next fine-tune measures again


def saved_estimate(device: str, threads: int) -> tuple[SpeedEstimate, str] | None:
    """The kept measurement and when it was taken, if it was taken on this device with this many threads
    (a measurement with another thread count says little about this run)."""
    import json
    from dataclasses import fields

    from htrgui.core.paths import user_data_dir

    try:
        record = json.loads((user_data_dir() / SPEED_FILE).read_text(encoding="utf-8"))
        names = {f.name for f in fields(SpeedEstimate)}
        estimate = SpeedEstimate(**{k: v for k, v in record.items() if k in names})
    except (OSError, ValueError, TypeError):
        return None
    if estimate.device != device or estimate.threads != threads or estimate.train_step_s <= 0:
        return None
    return estimate, str(record.get("measured_at", ""))
