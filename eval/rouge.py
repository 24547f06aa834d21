"""ROUGE exactly as ACI-Bench and MEDIQA-Chat 2023 compute it.

Their scripts call HuggingFace ``evaluate``'s rouge with ``use_aggregator=False``, which wraps
rouge-score 0.1.2 without stemming: ``score(reference, prediction)``, F1 per note, plain mean
over notes, times 100. rougeLsum splits summaries on "\\n", so notes are scored as written.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from rouge_score import rouge_scorer

METRICS = ("rouge1", "rouge2", "rougeLsum")


@dataclass(frozen=True, slots=True)
class Rouge:
    """Mean per-note F1, times 100."""

    rouge1: float
    rouge2: float
    rougelsum: float

    def rounded(self) -> tuple[float, float, float]:
        return (round(self.rouge1, 2), round(self.rouge2, 2), round(self.rougelsum, 2))


def per_note(references: Sequence[str], predictions: Sequence[str]) -> list[dict[str, float]]:
    """F1 of each (reference, prediction) pair, keyed by metric (0 to 1)."""
    if len(references) != len(predictions):
        raise ValueError(f"{len(references)} references but {len(predictions)} predictions")
    scorer = rouge_scorer.RougeScorer(list(METRICS), use_stemmer=False)
    scores = []
    for reference, prediction in zip(references, predictions, strict=True):
        result = scorer.score(reference, prediction)
        scores.append({m: float(result[m].fmeasure) for m in METRICS})
    return scores


def mean_rouge(references: Sequence[str], predictions: Sequence[str]) -> Rouge:
    """The papers' figure: per-note F1 averaged over notes, times 100."""
    scores = per_note(references, predictions)
    if not scores:
        raise ValueError("nothing to score")

    def mean(metric: str) -> float:
        return 100.0 * sum(s[metric] for s in scores) / len(scores)

    return Rouge(mean("rouge1"), mean("rouge2"), mean("rougeLsum"))
