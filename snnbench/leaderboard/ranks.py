"""Ranks that claim no more than the seeds show.

A method's rank is one plus the number of methods on the same board whose seed scores are
higher beyond chance: a one-sided Welch t-test at 5 % on the mean, standard deviation and
number of seeds of each.  Methods that cannot be told apart share a rank, so six methods at
100.0 +- 0.0 are all first, and 48.5 +- 2.2 against 48.5 +- 0.5 is a tie, not an order.
Two degenerate cases the test cannot decide are settled by the means alone: both spreads
zero (a higher mean is better: every seed of one beats every seed of the other), or fewer
than two seeds on a side (no spread to test; such rows are flagged on the site).
"""

from __future__ import annotations

import math
from typing import NamedTuple

from scipy.stats import ttest_ind_from_stats

ALPHA = 0.05
RULE = (
    "Rank = 1 + the number of methods whose seed scores are higher beyond chance "
    "(one-sided Welch t-test at 5 % over seeds); methods that cannot be told apart share "
    "a rank. With zero spread on both sides, or fewer than two seeds on one, the means decide."
)


class SeedStats(NamedTuple):
    mean: float
    std: float
    n: int


def better(a: SeedStats, b: SeedStats, alpha: float = ALPHA) -> bool:
    """Whether a's seed scores are higher than b's beyond chance."""
    if a.mean <= b.mean:
        return False
    if a.n < 2 or b.n < 2 or (a.std == 0 and b.std == 0):
        return True
    test = ttest_ind_from_stats(
        a.mean, a.std, a.n, b.mean, b.std, b.n, equal_var=False, alternative="greater"
    )
    return bool(not math.isnan(test.pvalue) and test.pvalue < alpha)


def shared_ranks(stats: list[SeedStats], alpha: float = ALPHA) -> list[int]:
    """Each method's rank: 1 + the number of methods better than it (`better`)."""
    return [1 + sum(better(other, s, alpha) for other in stats) for s in stats]
