"""The model learns while you correct: short background fine-tunes, kept only when better, with a history.

As the user verifies lines, :class:`LearningPolicy` says when a new round is due (the first as soon as the
held-out rule allows, then every :data:`EVERY_LINES` newly verified lines) and :func:`learning_round` runs
one: *the* fine-tune (:func:`finetune.finetune_pages`), warm from the version in use, with a short budget.
The new version is written only if it reads the held-out verified lines better than the version it started
from (the fine-tune's own "keep it only if better", measured on the same lines in the same run), so a round
can never make recognition worse. The held-out pages are sticky: once a page is held out it stays so, and
pages verified later join it while the rule wants more, so every version is checked on pages none of them
learnt from and their figures stay comparable.

:class:`ModelHistory` is the project's version history in one folder (``versions.json`` and ``vN.pt``):
v1, v2, ... with held-out CER, lines and date; bounded (the last :data:`KEEP_LAST`, the one in use and the
best are kept), and any kept version (or the base) can be put back in use. Nothing here writes a page: the
verified lines are only read.
"""

from __future__ import annotations

import datetime as _dt
import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Iterator

from htrgui.core.document import Page
from htrgui.core.errors import HtrError
from htrgui.core.io import atomic_write_text
from htrgui.core.progress import CancelToken, Progress
from htrgui.core.training.holdout import RULE, HeldOutRule, NotEnoughLines, check_held_out, pick_held_out, spread_order

if TYPE_CHECKING:  # the fine-tune imports torch: only when a round runs (the window reads histories without it)
    from htrgui.core.training.finetune import FinetunePlan, FinetuneResult, VerifiedPages

#: A new round after this many newly verified lines. At 20 s a line (a person checking a predicted line) that
#: is about 8 minutes of work, more than a round's budget below, so rounds never queue up behind the user; and
#: fewer new lines would mostly repeat the last round (the lines it learnt from are nearly the same).
EVERY_LINES = 25
#: A round's time limit (minutes): short, so that a better version reaches the next page. The fine-tune's own
#: early stop and passes usually end it before.
ROUND_MINUTES = 5.0
#: Versions kept besides the one in use and the best (each ~7 MB).
KEEP_LAST = 3
#: Rounds remembered in ``versions.json`` (kept or not), for the record.
MAX_ROUNDS_LOGGED = 50
HISTORY_FILE = "versions.json"
#: The project's model folder, beside its ``page/`` folder: the versions travel with the project and a
#: version learnt on one project is never used on another by mistake.
PROJECT_MODELS = "htrgui-models"


def project_history_folder(project_folder: Path | str) -> Path:
    """Where a project keeps its model's versions."""
    return Path(project_folder) / PROJECT_MODELS


@dataclass
class ModelVersion:
    """One kept version: its file (in the history's folder), its held-out CER and that of the version it
    started from on the same lines, the verified lines it learnt from, and when."""

    number: int
    file: str
    held_out_cer: float
    previous_cer: float | None
    lines: int
    held_out_lines: int
    held_out_pages: list[str]
    date: str
    started_from: int          # the version it was trained from (0: the base)
    minutes: float = 0.0

    @property
    def name(self) -> str:
        return f"v{self.number}"

    def describe(self) -> str:
        """``model v3: held-out CER 14 % -> 9 %`` (what the status bar shows)."""
        before = "" if self.previous_cer is None else f"{_pct(self.previous_cer)} -> "
        return f"model {self.name}: held-out CER {before}{_pct(self.held_out_cer)}"


@dataclass
class RoundRecord:
    """A round, kept or not (the log in versions.json)."""

    date: str
    lines: int
    started_from: int
    before_cer: float | None
    after_cer: float | None
    kept: int | None           # the version number written, None when not better
    minutes: float


def _pct(x: float | None) -> str:
    return "?" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{100 * x:.1f} %"


def _now() -> str:
    return _dt.datetime.now().isoformat(timespec="seconds")


@dataclass
class ModelHistory:
    """The versions of one project's model in ``folder``; ``current`` is the version in use (0: the base)."""

    folder: Path
    base: str = "default"
    current: int = 0
    versions: list[ModelVersion] = field(default_factory=list)
    #: Pages checked on (sticky across rounds) and pages learnt from by any version so far.
    held_out: list[str] = field(default_factory=list)
    trained: list[str] = field(default_factory=list)
    #: Verified lines when the last round started (the next is due EVERY_LINES later).
    last_round_lines: int = 0
    rounds: list[RoundRecord] = field(default_factory=list)

    # ------------------------------------------------------------ reading and writing
    @classmethod
    def load(cls, folder: Path | str, base: str = "default") -> ModelHistory:
        """The history kept in ``folder`` (an empty one when there is none yet; ``base`` is then its base).

        A damaged versions.json raises HtrError naming it (never silently starts over: the files are there)."""
        folder = Path(folder)
        path = folder / HISTORY_FILE
        if not path.is_file():
            return cls(folder, base)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            versions = [ModelVersion(**v) for v in data.get("versions", [])]
            rounds = [RoundRecord(**r) for r in data.get("rounds", [])]
            history = cls(folder, str(data.get("base", base)), int(data.get("current", 0)), versions,
                          list(data.get("held_out", [])), list(data.get("trained", [])),
                          int(data.get("last_round_lines", 0)), rounds)
        except (OSError, ValueError, TypeError) as exc:
            raise HtrError(f"{path}: cannot read the model's version history ({exc})") from exc
        if history.current and history.version(history.current) is None:
            history.current = 0  # its file was removed by hand: the base is what is left to use
        return history

    def save(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        data = {"base": self.base, "current": self.current, "versions": [asdict(v) for v in self.versions],
                "held_out": self.held_out, "trained": self.trained, "last_round_lines": self.last_round_lines,
                "rounds": [asdict(r) for r in self.rounds[-MAX_ROUNDS_LOGGED:]]}
        atomic_write_text(self.folder / HISTORY_FILE, json.dumps(data, ensure_ascii=False, indent=1) + "\n")

    # ------------------------------------------------------------ versions
    def version(self, number: int) -> ModelVersion | None:
        return next((v for v in self.versions if v.number == number and (self.folder / v.file).is_file()), None)

    def path(self, number: int) -> Path:
        return self.folder / f"v{number}.pt"

    @property
    def in_use(self) -> ModelVersion | None:
        """The version recognition uses, None for the base."""
        return self.version(self.current) if self.current else None

    def model(self) -> str:
        """What recognition and the next round use: the current version's file, else the base."""
        v = self.in_use
        return str(self.folder / v.file) if v is not None else self.base

    @property
    def best(self) -> ModelVersion | None:
        return min(self.versions, key=lambda v: v.held_out_cer, default=None)

    def next_number(self) -> int:
        numbers = [v.number for v in self.versions] + [r.kept or 0 for r in self.rounds]
        return max(numbers, default=0) + 1

    def rollback(self, number: int) -> None:
        """Put version ``number`` (0: the base) back in use; later rounds start from it."""
        if number and self.version(number) is None:
            raise HtrError(f"model v{number} is not kept any more (kept: "
                           f"{', '.join(v.name for v in self.versions) or 'none'})")
        self.current = number
        self.save()

    def rebase(self, base: str) -> None:
        """The user switched to another model (the one click's result, trained from the version in use): it
        becomes the base and is in use; later rounds start from it; kept versions stay to roll back to."""
        self.base, self.current = base, 0
        self.save()

    def add(self, version: ModelVersion, keep_last: int = KEEP_LAST) -> list[str]:
        """Record a new better version, put it in use, and drop the versions beyond the last ``keep_last``
        (the best and the one in use always stay). Returns the files removed."""
        self.versions.append(version)
        self.current = version.number
        keep = {v.number for v in self.versions[-keep_last:]} | {self.current}
        if self.best is not None:
            keep.add(self.best.number)
        removed = []
        for v in [v for v in self.versions if v.number not in keep]:
            (self.folder / v.file).unlink(missing_ok=True)
            removed.append(v.file)
        self.versions = [v for v in self.versions if v.number in keep]
        self.save()
        return removed


# ---------------------------------------------------------------- when a round is due, and on which pages
@dataclass
class Due:
    """Whether a round is due now, and why (or why not) in words."""

    due: bool
    reason: str
    verified_lines: int = 0


@dataclass
class LearningPolicy:
    """When rounds run and how long: a round once the held-out rule allows one and then every
    ``every_lines`` newly verified lines, each limited to ``round_minutes`` (``max_steps`` for tests)."""

    every_lines: int = EVERY_LINES
    round_minutes: float = ROUND_MINUTES
    keep_last: int = KEEP_LAST
    rule: HeldOutRule = RULE
    max_steps: int | None = None

    def due(self, verified: VerifiedPages, history: ModelHistory) -> Due:
        n = verified.lines
        problem = verified.problem(self.rule)
        if problem:
            return Due(False, problem, n)
        if history.rounds or history.last_round_lines:
            new = n - history.last_round_lines
            if new < self.every_lines:
                return Due(False, f"{new} line(s) verified since the last round: the next one starts after "
                                  f"{self.every_lines}", n)
            return Due(True, f"{new} newly verified lines", n)
        return Due(True, f"{n} verified lines: enough for a first round", n)

    def held_out(self, counts: dict[str, int], history: ModelHistory) -> list[str]:
        """Pages to check on, given verified lines per page: those held out before (sticky), topped up with
        pages no version learnt from while the rule wants more lines; the rule's own choice when that is not
        possible."""
        held = [k for k in history.held_out if counts.get(k)]
        if not held:
            return pick_held_out(counts, self.rule).held_out
        total = sum(counts.values())
        target = max(self.rule.min_held, min(self.rule.max_target, round(self.rule.share * total)))
        n_held = sum(counts[k] for k in held)
        trained = set(history.trained)
        for key in spread_order([k for k in counts if k not in held and k not in trained]):
            if n_held >= target:
                break
            if total - n_held - counts[key] >= self.rule.min_train:
                held.append(key)
                n_held += counts[key]
        try:
            return check_held_out(counts, held, self.rule).held_out
        except NotEnoughLines:
            # e.g. the held-out pages grew while the others did not: start a new choice (the versions'
            # figures are then on other lines; each round still compares with the version it started from)
            return pick_held_out(counts, self.rule).held_out


@dataclass
class RoundResult:
    """The last event of :func:`learning_round`."""

    version: ModelVersion | None     # the new version, now in use; None when not better
    result: FinetuneResult
    history: ModelHistory

    def describe(self) -> str:
        if self.version is not None:
            return self.version.describe()
        return f"a learning round was not better ({self.result.message}); the model in use stays"


def learning_round(pages: list[Page], history: ModelHistory, policy: LearningPolicy | None = None, *,
                   device: str = "auto", seed: int = 0, speed=None, speed_source: str = "", config=None,
                   cancel: CancelToken | None = None
                   ) -> Iterator[Progress | FinetunePlan | RoundResult]:
    """One round: fine-tune the version in use on the verified lines of ``pages`` (read only), keep the
    result as the next version if it reads the held-out lines better, record the round in ``history``
    (saved). Yields the fine-tune's Progress and plan, then a :class:`RoundResult`. Raises NotEnoughLines
    when the lines do not allow a round (check ``policy.due`` first); a cancelled round changes nothing."""
    from htrgui.core.training.finetune import FinetuneResult, VerifiedPages, finetune_pages

    policy = policy or LearningPolicy()
    verified = VerifiedPages.of(pages)
    held = policy.held_out(verified.by_key(), history)
    number = history.next_number()
    out = history.path(number)
    history.folder.mkdir(parents=True, exist_ok=True)
    started_from, lines_now = history.current, verified.lines
    result: FinetuneResult | None = None
    for item in finetune_pages(verified.pages, history.model(), held_out=held, max_minutes=policy.round_minutes,
                               output=out, device=device, seed=seed, speed=speed, speed_source=speed_source,
                               config=config, rule=policy.rule, max_steps=policy.max_steps, cancel=cancel):
        if isinstance(item, FinetuneResult):
            result = item
        else:
            yield item
    assert result is not None
    plan = result.plan
    version = None
    if result.improved and result.model_path and result.after_cer is not None:
        version = ModelVersion(number, out.name, float(result.after_cer), result.before_cer,
                               plan.train_lines if plan else result.train_lines,
                               plan.held_lines if plan else 0, list(result.held_out_pages), _now(),
                               started_from, round(result.minutes, 2))
    history.held_out = list(result.held_out_pages)
    history.trained = sorted(set(history.trained) | (set(verified.keys) - set(result.held_out_pages)))
    history.last_round_lines = lines_now
    history.rounds.append(RoundRecord(_now(), lines_now, started_from, result.before_cer, result.after_cer,
                                      number if version else None, round(result.minutes, 2)))
    if version is not None:
        history.add(version, policy.keep_last)  # saves
    else:
        history.save()
    yield RoundResult(version, result, history)
