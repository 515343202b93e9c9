"""Which verified pages a fine-tune holds out, chosen by line counts so that both sides have enough lines.

Whole pages are held out (lines of one page share layout and often words: a page split between training and
checking would flatter the new model). The old rule took about 15 % of the *pages* by position: with 11 lines
on two pages it held out the 9-line page and trained on 2 lines. Here pages are picked by how many verified
lines they hold, so that the check has at least 10 lines and training at least 50
(:class:`HeldOutRule`); below that nothing is trained and :func:`not_enough` says what is missing.
"""

from __future__ import annotations

from dataclasses import dataclass

from htrgui.core.errors import HtrError

class NotEnoughLines(HtrError):
    """Too few verified lines, or lines on too few pages, to fine-tune and check the result."""


@dataclass(frozen=True)
class HeldOutRule:
    """The minimums and the share of the rule (tests of other features lower the minimums)."""

    #: Fewer training lines teach a model little and mostly make it forget (issue 17: 2 lines, worse).
    min_train: int = 50
    #: Fewer held-out lines make the before/after CER too noisy to decide "keep it only if better".
    min_held: int = 10
    #: Share of the verified lines held out when there are plenty ...
    share: float = 0.15
    #: ... but aimed at no more than this many: every check recognises them all, and that is not training.
    max_target: int = 120


RULE = HeldOutRule()


@dataclass(frozen=True)
class HeldOutChoice:
    held_out: list[str]       # page names (LineSet.pages values / finetune.page_key)
    held_lines: int
    train_lines: int


def not_enough(counts: dict[str, int], rule: HeldOutRule = RULE) -> str:
    """What is missing before a fine-tune can run on pages with these verified line counts ("" if nothing).

    The message says what to do (how many more lines, on other pages), not only what is wrong."""
    total = sum(counts.values())
    pages = sum(1 for n in counts.values() if n)
    need = rule.min_train + rule.min_held
    if total < need:
        return (f"{total} verified line(s) on {pages} page(s): fine-tuning needs at least {need} verified "
                f"lines on two pages or more ({rule.min_train} to learn from, {rule.min_held} on other pages "
                f"to check the new model on). Verify {need - total} more line(s) first.")
    if pages < 2:
        return (f"all {total} verified lines are on one page: the new model is checked on pages it did not "
                f"learn from, so verify at least {rule.min_held} lines on another page first.")
    if _choose(counts, rule.min_held, None, rule) is None:
        return (f"{total} verified lines on {pages} pages, but no page (or set of pages) holds "
                f"{rule.min_held} lines or more while leaving {rule.min_train} on the others: verify more "
                "lines on another page first.")
    return ""


def spread_order(names: list[str]) -> list[str]:
    """The pages in an order that samples the whole project early (middle, quarters, eighths...), so the
    held-out pages are not all from its beginning or its end; deterministic."""
    n = len(names)
    order: list[int] = []
    seen: set[int] = set()
    denom = 2
    while len(order) < n:
        for k in range(1, denom, 2):
            i = min(n - 1, k * n // denom)
            if i not in seen:
                seen.add(i)
                order.append(i)
        denom *= 2
        if denom > 4 * n:  # whatever the halving missed, in order
            order += [i for i in range(n) if i not in seen]
            break
    return [names[i] for i in order]


def _choose(counts: dict[str, int], target: int, limit: int | None, rule: HeldOutRule) -> list[str] | None:
    """Pages in spread order, each taken if training keeps rule.min_train lines, the held-out lines stay
    within ``limit`` and (once the minimum is held) it brings them nearer ``target``, until ``target`` lines are held out; None when rule.min_held cannot be reached."""
    total = sum(counts.values())
    held: list[str] = []
    n_held = 0
    for name in spread_order([k for k, n in counts.items() if n]):
        n = counts[name]
        if total - n_held - n < rule.min_train or (limit is not None and n_held + n > limit):
            continue
        if n_held >= rule.min_held and abs(n_held + n - target) >= abs(n_held - target):
            continue  # enough already, and this page would take us further from the target
        held.append(name)
        n_held += n
        if n_held >= target:
            break
    return held if n_held >= rule.min_held else None


def pick_held_out(counts: dict[str, int], rule: HeldOutRule = RULE) -> HeldOutChoice:
    """Pages to hold out: about 15 % of the verified lines (at least 10, aimed at no more than 120), whole
    pages, spread over the project, leaving at least 50 lines to train on.

    ``counts``: verified lines per page name, in the project's order. Raises :class:`NotEnoughLines`
    (with what is needed) when no choice satisfies both minimums."""
    problem = not_enough(counts, rule)
    if problem:
        raise NotEnoughLines(problem)
    total = sum(counts.values())
    target = max(rule.min_held, min(rule.max_target, round(rule.share * total)))
    # First without overshooting twice the target (one huge page would take too much from training),
    # then with any page that leaves enough to train on.
    held = _choose(counts, target, 2 * target, rule) or _choose(counts, target, None, rule)
    assert held is not None  # not_enough() checked that a choice exists
    n_held = sum(counts[k] for k in held)
    return HeldOutChoice(held, n_held, total - n_held)


def check_held_out(counts: dict[str, int], held_out: list[str], rule: HeldOutRule = RULE) -> HeldOutChoice:
    """The user's choice of held-out pages, checked against the same minimums (raises NotEnoughLines)."""
    unknown = [k for k in held_out if not counts.get(k)]
    if unknown:
        raise NotEnoughLines(f"held-out page(s) without verified lines: {', '.join(unknown)}")
    n_held = sum(counts[k] for k in dict.fromkeys(held_out))
    n_train = sum(counts.values()) - n_held
    if n_held < rule.min_held:
        raise NotEnoughLines(f"the held-out pages hold {n_held} verified line(s): at least {rule.min_held} are "
                             "needed to tell whether the new model is better; hold out more pages")
    if n_train < rule.min_train:
        raise NotEnoughLines(f"{n_train} verified line(s) are left to learn from: at least {rule.min_train} "
                             "are needed; hold out fewer pages or verify more lines")
    return HeldOutChoice(list(dict.fromkeys(held_out)), n_held, n_train)
