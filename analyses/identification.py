"""Watch-list (1:N) identification measured the field's way, as pure functions over score matrices.

Seed 001 rebuilt on public faces: the gallery is a constructed watch-list of public faces; nobody in
it is a criminal. The measures follow NIST FRTE 1:N (Grother et al., NISTIR 8271, sections 2-3) and
ISO/IEC 19795-1; the demographic part follows NISTIR 8280 (one common threshold for every group).

Inputs, everywhere:

- ``S`` (n_searches, n_gallery): similarity of each probe (search) to each enrolled identity's template,
  higher = more alike (for distances pass ``-D``);
- ``mate`` (n_searches,): the gallery index of the probe's own identity, or -1 for a non-mated search
  (the person is not enrolled);
- ``person`` (n_searches,): who is in the probe. Intervals resample PERSONS, never a person's images as
  if independent (NISTIR 8271 repeats searches per person; images of one person share pose, camera and
  face, so an image bootstrap is too narrow; ``test_identification`` measures how much).

Definitions (ties are counted against the system, "pessimistically"):

- rank of the mate = 1 + number of NON-mate gallery entries scoring >= the mate's score;
- closed-set rank-k identification rate (CMC at k) = share of mated searches with rank <= k;
- FPIR(t) = share of non-mated searches whose top score is >= t (any alert on a stranger);
- FNIR(t) = share of mated searches where the mate is not at rank 1 with score >= t (NIST's rank-1
  definition, NISTIR 8271 eq. 3: a mated search whose rank-1 candidate is the WRONG person counts as a
  miss even if that candidate scores above t; :func:`operating_point` reports those wrong-identity
  alerts separately, because in operation they are false alerts too);
- FNIR at FPIR = a: the threshold is chosen on the non-mated top scores, the smallest one allowing at
  most floor(a x N) of the N non-mated searches to alert. With N < 1 / a no false alert is allowed at
  all and the FPIR achieved is 0, not a: that FNIR is reported "not estimable" with the count.

>>> S = np.array([[.9, .2, .1], [.3, .8, .7], [.6, .7, .2], [.4, .1, .3], [.2, .5, .1]])
>>> mate, person = np.array([0, 1, 0, -1, -1]), np.array(["a", "b", "a", "c", "d"])
>>> r = evaluate_identification(S, mate, person, IdentificationConfig(n_boot=50, max_rank=3))
>>> [p["rate"]["estimate"] for p in r["cmc"]["points"]], r["n_mated"], r["n_nonmated"]
([0.6666666666666666, 1.0, 1.0], 3, 2)
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

from .stats import N_BOOT, N_PERM, holm, stream

FPIR_TARGETS = (0.1, 0.01, 0.001)
BASE_RATES = (1e-2, 1e-3, 1e-4, 1e-5)  # share of passers-by who are on the watch-list
_BLOCK = 256  # bootstrap replicates handled at once where a (B, n_searches) array is needed


@dataclass(frozen=True)
class IdentificationConfig:
    """Settings of :func:`evaluate_identification` and :func:`demographic_differentials`."""

    n_boot: int = N_BOOT
    seed: int = 0
    max_rank: int = 20  # CMC up to this rank (or the gallery size when smaller)
    fpir_targets: tuple[float, ...] = FPIR_TARGETS
    n_perm: int = N_PERM
    min_persons: int = 30  # differentials: a group with fewer persons (for a metric) is not judged

    def __post_init__(self) -> None:
        for name, low in (("n_boot", 2), ("seed", 0), ("max_rank", 1), ("n_perm", 1), ("min_persons", 1)):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                raise ValueError(f"IdentificationConfig.{name}={value!r}: expected an int >= {low}")
        if not all(0 < a < 1 for a in self.fpir_targets):
            raise ValueError(f"IdentificationConfig.fpir_targets={self.fpir_targets!r}: each must be in (0, 1)")


@dataclass(frozen=True)
class Searches:
    """What every measure needs from one search (one probe): computed once from ``S``."""

    person: np.ndarray  # (n,) person code 0..n_persons-1
    mated: np.ndarray  # (n,) bool: the probe's identity is enrolled
    rank: np.ndarray  # (n,) pessimistic rank of the mate; 0 for non-mated searches
    hit_score: np.ndarray  # (n,) the mate's score where it is at rank 1, else -inf (never a rank-1 hit)
    top: np.ndarray  # (n,) the highest score in the row (what a threshold alerts on)
    n_gallery: int

    @property
    def n_persons(self) -> int:
        return int(self.person.max()) + 1 if len(self.person) else 0


def searches(S: np.ndarray, mate: np.ndarray, person: np.ndarray) -> Searches:
    """Per-search summary of a score matrix; checks the inputs.

    >>> s = searches(np.array([[.5, .5], [.1, .9], [.3, .2]]), np.array([0, 1, -1]), np.array([1, 1, 2]))
    >>> s.rank.tolist(), s.hit_score.tolist(), s.top.tolist()  # a tie with a non-mate ranks the mate 2nd
    ([2, 1, 0], [-inf, 0.9, -inf], [0.5, 0.9, 0.3])
    """
    S = np.asarray(S, float)
    mate, person = np.asarray(mate), np.asarray(person)
    if S.ndim != 2 or S.shape[1] < 1 or not np.isfinite(S).all():
        raise ValueError(f"S must be a finite (searches, gallery) matrix; got shape {S.shape} "
                         "(replace missing scores by the lowest score, a failure to enrol by a row of -1e9)")
    if mate.shape != (len(S),) or person.shape != (len(S),):
        raise ValueError(f"mate {mate.shape} and person {person.shape} need one entry per row of S ({len(S)})")
    if not np.issubdtype(mate.dtype, np.integer) or mate.min(initial=0) < -1 or mate.max(initial=0) >= S.shape[1]:
        raise ValueError(f"mate must hold gallery indices 0..{S.shape[1] - 1} or -1 (non-mated)")
    codes, _ = pd.factorize(pd.Series(person).astype(str))
    mated = mate >= 0
    rows = np.arange(len(S))
    mate_score = np.where(mated, S[rows, np.maximum(mate, 0)], np.inf)
    rank = np.where(mated, (S >= mate_score[:, None]).sum(1), 0)  # counts the mate itself: 1 + non-mates >= it
    return Searches(person=codes, mated=mated, rank=rank,
                    hit_score=np.where(mated & (rank == 1), mate_score, -np.inf),
                    top=S.max(1), n_gallery=S.shape[1])


# ---- helpers ----------------------------------------------------------------------------------

def _num(x) -> float | None:
    """A plain float, or None for NaN / inf (JSON has neither)."""
    return float(x) if x is not None and np.isfinite(x) else None


def _interval(point: float, reps: np.ndarray) -> dict[str, float | None]:
    """Point estimate and 95% percentile interval; replicates where the rate is undefined are dropped."""
    reps = np.asarray(reps, float)
    reps = reps[np.isfinite(reps)]
    lo, hi = np.percentile(reps, [2.5, 97.5]) if len(reps) else (np.nan, np.nan)
    return {"estimate": _num(point), "ci_low": _num(lo), "ci_high": _num(hi)}


def _person_counts(n_persons: int, n_boot: int, seed: int) -> np.ndarray:
    """(n_boot, n_persons): how often each person is drawn in each replicate (persons resampled)."""
    return stream(seed, "bootstrap").multinomial(n_persons, np.full(n_persons, 1.0 / n_persons),
                                                 size=n_boot).astype(float)


def _per_person(s: Searches, values: np.ndarray) -> np.ndarray:
    """Sum of ``values`` (n,) or (n, k) over each person's searches -> (n_persons,) or (n_persons, k)."""
    out = np.zeros((s.n_persons,) + values.shape[1:])
    np.add.at(out, s.person, values)
    return out


def _rate(s: Searches, events: np.ndarray, among: np.ndarray, counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Share of searches ``among`` with ``events``: the point value and one value per bootstrap row."""
    ev, n = _per_person(s, (events & among).astype(float)), _per_person(s, among.astype(float))
    with np.errstate(invalid="ignore", divide="ignore"):
        return ev.sum(0) / n.sum(0), (counts @ ev) / (counts @ n)


def _counts_of(s: Searches, among: np.ndarray) -> dict[str, int]:
    return {"n_searches": int(among.sum()), "n_persons": len(np.unique(s.person[among]))}


# ---- closed set -------------------------------------------------------------------------------

def cmc(s: Searches, max_rank: int = 20, n_boot: int = N_BOOT, seed: int = 0) -> dict:
    """Closed-set CMC: rank-k identification rate for k = 1..max_rank over mated searches, each with a
    person-bootstrap 95% interval (the rank-1 rate is the first point).

    >>> s = searches(np.array([[.9, .2], [.3, .8], [.6, .7]]), np.array([0, 1, 0]), np.array([0, 1, 0]))
    >>> c = cmc(s, n_boot=50)
    >>> [p["rank"] for p in c["points"]], [p["rate"]["estimate"] for p in c["points"]], c["n_searches"]
    ([1, 2], [0.6666666666666666, 1.0], 3)
    """
    ranks = np.arange(1, min(max_rank, s.n_gallery) + 1)
    hits = s.mated[:, None] & (s.rank[:, None] <= ranks[None])  # (n, R)
    point, reps = _rate(s, hits, s.mated[:, None], _person_counts(s.n_persons, n_boot, seed))
    return {"points": [{"rank": int(k), "rate": _interval(point[i], reps[:, i])} for i, k in enumerate(ranks)],
            **_counts_of(s, s.mated), "ties": "a non-mate scoring equal to the mate ranks ahead of it"}


# ---- open set ---------------------------------------------------------------------------------

def operating_point(s: Searches, threshold: float, n_boot: int = N_BOOT, seed: int = 0,
                    return_draws: bool = False) -> dict:
    """FPIR and FNIR at one fixed threshold, with person-bootstrap intervals from the SAME replicates
    (so the draws are paired, as :func:`alerts_at_base_rates` needs them).

    Also reports ``wrong_identity_alert_rate``: mated searches whose rank-1 candidate is another
    person scoring >= t (FNIR counts them as misses; in operation they are false alerts as well).

    >>> s = searches(np.array([[.9, .2], [.3, .8], [.6, .7], [.4, .1], [.2, .5]]),
    ...              np.array([0, 1, 0, -1, -1]), np.arange(5))
    >>> o = operating_point(s, 0.5, n_boot=50)
    >>> o["fpir"]["estimate"], round(o["fnir"]["estimate"], 3), o["wrong_identity_alert_rate"]["estimate"]
    (0.5, 0.333, 0.3333333333333333)
    """
    counts = _person_counts(s.n_persons, n_boot, seed)
    fpir, fpir_b = _rate(s, s.top >= threshold, ~s.mated, counts)
    hit, hit_b = _rate(s, s.hit_score >= threshold, s.mated, counts)
    wrong, wrong_b = _rate(s, (s.rank > 1) & (s.top >= threshold), s.mated, counts)
    out = {"threshold": float(threshold),
           "fpir": {**_interval(fpir, fpir_b), **_counts_of(s, ~s.mated)},
           "fnir": {**_interval(1 - hit, 1 - hit_b), **_counts_of(s, s.mated)},
           "wrong_identity_alert_rate": {**_interval(wrong, wrong_b), **_counts_of(s, s.mated)}}
    if return_draws:
        out["draws"] = {"fpir": fpir_b.tolist(), "fnir": (1 - hit_b).tolist()}
    return out


def _tau(top_desc: np.ndarray, starts: np.ndarray, w: np.ndarray, a: float) -> np.ndarray:
    """Per row of weights ``w`` (B, N) over non-mated top scores sorted descending (ties start at
    ``starts``): the highest score level whose searches, with all above it, weigh more than a x total.
    A hit must score strictly above it; FPIR at that threshold is then <= a."""
    cum = np.cumsum(np.add.reduceat(w, starts, axis=1), axis=1)
    over = cum > a * cum[:, -1:] * (1 + 1e-9)  # 1e-9: a x N computed just under an integer N x a
    return top_desc[starts][np.argmax(over, axis=1)]


def _fnir_above(hit_sorted: np.ndarray, w_sorted: np.ndarray, tau: np.ndarray) -> np.ndarray:
    """1 - weighted share of mated searches with hit score > tau, per row (hit scores sorted ascending)."""
    cum = np.concatenate([np.zeros((len(w_sorted), 1)), np.cumsum(w_sorted, axis=1)], axis=1)
    below = np.take_along_axis(cum, np.searchsorted(hit_sorted, tau, side="right")[:, None], axis=1)[:, 0]
    with np.errstate(invalid="ignore", divide="ignore"):
        return below / cum[:, -1]


def fnir_at_fpir(s: Searches, targets: tuple[float, ...] = FPIR_TARGETS, n_boot: int = N_BOOT,
                 seed: int = 0) -> list[dict]:
    """FNIR at each target FPIR, the threshold chosen on the non-mated searches' top scores.

    The interval re-chooses the threshold inside every person-bootstrap replicate: the threshold is
    itself estimated from the same non-mated searches, and holding it at the sample's value would
    leave out that uncertainty (the interval would then be about FNIR at one lucky or unlucky
    threshold, not at the FPIR asked for). Measured in ``test_identification`` (FPIR 0.01, 900
    non-mated searches of 300 persons, 200 datasets): re-chosen, the interval covered the true FNIR in
    96% of datasets; with the threshold held fixed, in 84%, and it was a third narrower. A target needs
    at least 1 / FPIR non-mated searches; below that the entry says "not estimable" with the count
    instead of a number.

    >>> rng = np.random.default_rng(0)
    >>> S = rng.normal(size=(400, 20)); mate = np.r_[np.arange(200) % 20, -np.ones(200, int)]
    >>> S[np.arange(200), mate[:200]] += 3
    >>> r = fnir_at_fpir(searches(S, mate, np.arange(400)), (0.1, 0.001), n_boot=100)
    >>> r[0]["fnir"]["ci_low"] < r[0]["fnir"]["estimate"] < r[0]["fnir"]["ci_high"], r[1]["estimable"]
    (True, False)
    >>> r[1]["reason"]
    'FPIR 0.001 needs >= 1000 non-mated searches to set a threshold; there are 200'
    """
    nm, m = ~s.mated, s.mated
    order = np.argsort(-s.top[nm], kind="mergesort")
    top_desc = s.top[nm][order]
    starts = np.flatnonzero(np.r_[True, top_desc[1:] != top_desc[:-1]])
    hit_order = np.argsort(s.hit_score[m], kind="mergesort")
    hit_sorted = s.hit_score[m][hit_order]
    p_nm, p_m = s.person[nm][order], s.person[m][hit_order]
    counts = _person_counts(s.n_persons, n_boot, seed)
    n_nm = int(nm.sum())
    out = []
    for a in targets:
        base = {"fpir_target": a, "nonmated": _counts_of(s, nm), "mated": _counts_of(s, m)}
        if n_nm * a < 1 or not m.any():
            need = int(np.ceil(1 / a - 1e-9))
            out.append({**base, "estimable": False, "fnir": None, "threshold": None,
                        "reason": f"FPIR {a:g} needs >= {need} non-mated searches to set a threshold; there are {n_nm}"
                        if m.any() else "no mated searches"})
            continue
        tau = _tau(top_desc, starts, np.ones((1, n_nm)), a)
        fnir = _fnir_above(hit_sorted, np.ones((1, len(hit_sorted))), tau)[0]
        reps = np.concatenate([
            _fnir_above(hit_sorted, c[:, p_m], _tau(top_desc, starts, c[:, p_nm], a))
            for c in np.array_split(counts, max(1, len(counts) // _BLOCK))])
        out.append({**base, "estimable": True, "threshold": float(np.nextafter(tau[0], np.inf)),
                    "fpir_achieved": float(np.mean(top_desc > tau[0])), "fnir": _interval(fnir, reps),
                    "threshold_rule": "a hit needs a score above the floor(a N)+1-th highest non-mated top score"})
    return out


def det_curve(s: Searches) -> dict:
    """The DET curve as arrays for a figure: FPIR(t) and FNIR(t) at every threshold where either changes
    (descending thresholds). Intervals at chosen FPIRs come from :func:`fnir_at_fpir`.

    >>> s = searches(np.array([[.9, .2], [.3, .8], [.6, .7], [.4, .1], [.2, .5]]),
    ...              np.array([0, 1, 0, -1, -1]), np.arange(5))
    >>> d = det_curve(s); d["threshold"], d["fpir"], [round(x, 3) for x in d["fnir"]]
    ([0.9, 0.8, 0.5, 0.4], [0.0, 0.0, 0.5, 1.0], [0.667, 0.333, 0.333, 0.333])
    """
    nm_top = np.sort(s.top[~s.mated])
    hits = np.sort(s.hit_score[s.mated])
    t = np.unique(np.r_[nm_top, hits[np.isfinite(hits)]])[::-1]
    fpir = (len(nm_top) - np.searchsorted(nm_top, t, side="left")) / max(len(nm_top), 1)
    fnir = np.searchsorted(hits, t, side="left") / max(len(hits), 1)
    return {"threshold": t.tolist(), "fpir": fpir.tolist(), "fnir": fnir.tolist(),
            "n_mated": int(s.mated.sum()), "n_nonmated": int((~s.mated).sum())}


def evaluate_identification(S: np.ndarray, mate: np.ndarray, person: np.ndarray,
                            config: IdentificationConfig = IdentificationConfig()) -> dict:
    """CMC (closed set), FNIR at each target FPIR and the DET curve (open set), with the config."""
    s = searches(S, mate, person)
    return {"config": asdict(config), "n_mated": int(s.mated.sum()), "n_nonmated": int((~s.mated).sum()),
            "n_persons": s.n_persons, "n_gallery": s.n_gallery,
            "cmc": cmc(s, config.max_rank, config.n_boot, config.seed),
            "fnir_at_fpir": fnir_at_fpir(s, config.fpir_targets, config.n_boot, config.seed),
            "det": det_curve(s)}


# ---- alerts at realistic base rates ------------------------------------------------------------

def alert_numbers(fnir, fpir, base_rate: float, per: int = 10_000) -> dict[str, np.ndarray]:
    """Closed form, elementwise over arrays of (FNIR, FPIR) pairs, for passers-by of whom a share
    ``base_rate`` is enrolled: alert precision (PPV), false and true alerts per ``per`` passers-by,
    false alerts per true hit. Wrong-identity alerts on enrolled people are not counted (see
    :func:`operating_point`).

    >>> {k: round(float(v), 4) for k, v in alert_numbers(0.1, 0.01, 1e-3).items()}
    {'ppv': 0.0826, 'false_alerts_per': 99.9, 'true_alerts_per': 9.0, 'false_alerts_per_true_hit': 11.1}
    """
    tpr, fpir = 1 - np.asarray(fnir, float), np.asarray(fpir, float)
    true_, false_ = tpr * base_rate, fpir * (1 - base_rate)
    with np.errstate(invalid="ignore", divide="ignore"):
        return {"ppv": true_ / (true_ + false_), "false_alerts_per": false_ * per, "true_alerts_per": true_ * per,
                "false_alerts_per_true_hit": false_ / true_}


def alerts_at_base_rates(fnir: float, fpir: float, fnir_draws=None, fpir_draws=None,
                         base_rates: tuple[float, ...] = BASE_RATES, per: int = 10_000,
                         n_nonmated: int | None = None) -> list[dict]:
    """What an operator sees at each base rate, with 95% intervals taken from the paired bootstrap draws
    of (FNIR, FPIR) (e.g. ``operating_point(..., return_draws=True)["draws"]``), pushed through the
    closed form draw by draw: no normal approximation. Without draws the intervals are None.

    When FPIR is estimated as 0 the bootstrap cannot bound it; with ``n_nonmated`` the entry then
    notes the rule-of-three 95% upper bound 3 / n and the PPV it would give.

    >>> r = alerts_at_base_rates(0.1, 0.01, [0.08, 0.1, 0.12], [0.008, 0.01, 0.012], base_rates=(1e-4,))
    >>> round(r[0]["ppv"]["estimate"], 5), round(r[0]["false_alerts_per_true_hit"]["estimate"], 1)
    (0.00892, 111.1)
    """
    out = []
    for b in base_rates:
        point = alert_numbers(fnir, fpir, b, per)
        draws = alert_numbers(fnir_draws, fpir_draws, b, per) if fnir_draws is not None else None
        row = {"base_rate": b, "per": per}
        for k, v in point.items():
            row[k] = _interval(v, draws[k]) if draws is not None else {"estimate": _num(v), "ci_low": None,
                                                                       "ci_high": None}
        if fpir == 0 and n_nonmated:
            row["note"] = (f"FPIR estimated as 0 on {n_nonmated} non-mated searches: its 95% upper bound is "
                           f"3/n = {3 / n_nonmated:.3g}, where PPV would be "
                           f"{float(alert_numbers(fnir, 3 / n_nonmated, b)['ppv']):.3g}")
        out.append(row)
    return out


def simulate_alert_stream(fnir: float, fpir: float, base_rate: float, n_passers: int, n_streams: int = 1,
                          seed: int = 0, per: int = 10_000) -> dict:
    """Seeded binomial draws of ``n_streams`` streams of ``n_passers`` passers-by: who is enrolled, who
    of them is hit, which strangers raise an alert. Pooled numbers, to check :func:`alert_numbers`.

    >>> r = simulate_alert_stream(0.1, 0.01, 1e-2, 100_000, n_streams=20)
    >>> abs(r["ppv"] - float(alert_numbers(0.1, 0.01, 1e-2)["ppv"])) < 0.02, r["n_passers"]
    (True, 2000000)
    """
    rng = stream(seed, "alert_stream")
    enrolled = rng.binomial(n_passers, base_rate, n_streams)
    true_ = rng.binomial(enrolled, 1 - fnir)
    false_ = rng.binomial(n_passers - enrolled, fpir)
    t, f, n = int(true_.sum()), int(false_.sum()), n_passers * n_streams
    return {"n_passers": n, "enrolled": int(enrolled.sum()), "true_alerts": t, "false_alerts": f,
            "ppv": t / (t + f) if t + f else None, "false_alerts_per": f / n * per,
            "false_alerts_per_true_hit": f / t if t else None}


# ---- demographic differentials (NISTIR 8280) ---------------------------------------------------

def _chi2(events: np.ndarray, n: np.ndarray) -> np.ndarray:
    """Pearson chi-square of the 2 x G table (events, non-events) per row of (P, G) group totals."""
    r = events.sum(1, keepdims=True) / n.sum(1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        stat = ((events - n * r) ** 2 / (n * r * (1 - r))).sum(1)
    return np.where((r[:, 0] > 0) & (r[:, 0] < 1), stat, 0.0)


def _group_metric(ev_p, n_p, pg, names, cfg: IdentificationConfig, rng_boot, rng_perm) -> dict:
    """One metric (per-person event and search counts ``ev_p``, ``n_p``) across the groups ``pg``."""
    rows, reps = [], {}
    for g, name in enumerate(names):
        idx = np.flatnonzero((pg == g) & (n_p > 0))
        row = {"group": str(name), "n_searches": int(n_p[idx].sum()), "n_persons": len(idx),
               "judged": len(idx) >= cfg.min_persons}
        if row["judged"]:
            c = rng_boot.multinomial(len(idx), np.full(len(idx), 1.0 / len(idx)), size=cfg.n_boot).astype(float)
            reps[g] = (c @ ev_p[idx]) / (c @ n_p[idx])  # persons resampled within the group (its n fixed)
            row["rate"] = _interval(ev_p[idx].sum() / n_p[idx].sum(), reps[g])
        else:
            row["reason"] = f"not judged: {len(idx)} persons < min_persons={cfg.min_persons}"
        rows.append(row)
    judged = list(reps)
    out = {"groups": rows, "reference_group": None, "test": None}
    if not judged:
        return out
    ref = min(judged, key=lambda g: rows[g]["rate"]["estimate"])
    out["reference_group"] = str(names[ref])
    for g in judged:
        low = rows[ref]["rate"]["estimate"]
        with np.errstate(invalid="ignore", divide="ignore"):
            ratio = reps[g] / reps[ref]
        ratio = ratio[~np.isnan(ratio)]  # 0 / 0: both rates 0 in a replicate; x / 0 stays inf
        lo, hi = np.quantile(ratio, [0.025, 0.975], method="inverted_cdf") if len(ratio) else (np.nan, np.nan)
        rows[g]["ratio_to_lowest"] = {"estimate": _num(rows[g]["rate"]["estimate"] / low) if low > 0 else None,
                                      "ci_low": _num(lo), "ci_high": _num(hi)}
    if len(judged) >= 2:
        keep = np.flatnonzero(np.isin(pg, judged) & (n_p > 0))
        codes = np.searchsorted(judged, pg[keep])
        ev, n = ev_p[keep], n_p[keep]
        def totals(lab):  # (P, n_keep) group labels -> chi-square per row
            masks = [(lab == j).astype(float) for j in range(len(judged))]
            return _chi2(np.stack([m @ ev for m in masks], 1), np.stack([m @ n for m in masks], 1))
        obs = float(totals(codes[None])[0])
        null = totals(rng_perm.permuted(np.tile(codes, (cfg.n_perm, 1)), axis=1))
        out["test"] = {"statistic": "Pearson chi-square of events vs searches over judged groups",
                       "chi2": obs, "p_value": float((1 + np.sum(null >= obs - 1e-12)) / (1 + cfg.n_perm)),
                       "null": "group labels permuted across persons (each person keeps all their searches)",
                       "n_perm": cfg.n_perm}
    return out


def demographic_differentials(S: np.ndarray, mate: np.ndarray, person: np.ndarray, groups: dict[str, np.ndarray],
                              threshold: float | None = None, fpir_target: float = 0.01,
                              config: IdentificationConfig = IdentificationConfig()) -> dict:
    """FPIR and FNIR per group at ONE threshold common to every group (NISTIR 8280, section 3).

    The threshold is ``threshold``, or the one giving FPIR ``fpir_target`` on ALL non-mated searches
    pooled (as NIST sets it: one deployed threshold, then each group's rates at it). It is held fixed
    in the bootstrap: the question is the rates at this deployed threshold. Per group and metric: n
    searches and persons, the rate with a person-bootstrap 95% interval (persons resampled within the
    group), and its ratio to the lowest judged group's rate; a group with fewer than
    ``config.min_persons`` persons for a metric is "not judged". Per attribute and metric, "rates
    differ between groups" is tested by a chi-square statistic whose null permutes the person -> group
    assignment (no refit is involved: the scores do not depend on the labels); the p-values of every
    (attribute, metric) test in this call form ONE Holm family (``holm_family`` lists it).
    ``groups`` holds per-search attribute values (one value per person, else an error).

    >>> rng = np.random.default_rng(1)
    >>> S = rng.normal(size=(240, 30)); mate = np.r_[np.arange(120) % 30, -np.ones(120, int)]
    >>> S[np.arange(120), mate[:120]] += 3
    >>> sex = np.tile(["f", "m"], 120)
    >>> r = demographic_differentials(S, mate, np.arange(240), {"sex": sex},
    ...                               config=IdentificationConfig(n_boot=100, n_perm=100))
    >>> m = r["attributes"]["sex"]["fnir"]; [g["n_persons"] for g in m["groups"]], m["test"]["p_value"] > 0.05
    ([60, 60], True)
    >>> r["holm_family"]
    ['sex: fpir', 'sex: fnir']
    """
    cfg = config
    s = searches(S, mate, person)
    nm = ~s.mated
    if threshold is None:
        if nm.sum() * fpir_target < 1:
            raise ValueError(f"FPIR {fpir_target:g} needs >= {int(np.ceil(1 / fpir_target - 1e-9))} non-mated "
                             f"searches to set the common threshold; there are {int(nm.sum())}: pass threshold=")
        top_desc = np.sort(s.top[nm])[::-1]
        starts = np.flatnonzero(np.r_[True, top_desc[1:] != top_desc[:-1]])
        threshold = float(np.nextafter(_tau(top_desc, starts, np.ones((1, len(top_desc))), fpir_target)[0], np.inf))
        rule = f"FPIR {fpir_target:g} on all {int(nm.sum())} non-mated searches pooled"
    else:
        rule = "given"
    events = {"fpir": nm & (s.top >= threshold), "fnir": s.mated & ~(s.hit_score >= threshold)}
    among = {"fpir": nm, "fnir": s.mated}
    out = {"threshold": float(threshold), "threshold_rule": rule, "config": asdict(cfg), "attributes": {}}
    tests = []
    for a_i, (attr, values) in enumerate(groups.items()):
        codes, names = pd.factorize(pd.Series(np.asarray(values)).astype(str))
        if len(codes) != len(s.person):
            raise ValueError(f"groups[{attr!r}] has {len(codes)} values; S has {len(s.person)} rows")
        per = pd.Series(codes).groupby(s.person).agg(["min", "max"])
        if (per["min"] != per["max"]).any():
            raise ValueError(f"groups[{attr!r}]: some persons carry two values; give each person one value")
        pg = per["min"].to_numpy()
        out["attributes"][attr] = {}
        for m_i, metric in enumerate(("fpir", "fnir")):
            res = _group_metric(_per_person(s, (events[metric] & among[metric]).astype(float)),
                                _per_person(s, among[metric].astype(float)), pg, names, cfg,
                                stream(cfg.seed, "bootstrap", a_i, m_i), stream(cfg.seed, "permutations", a_i, m_i))
            out["attributes"][attr][metric] = res
            if res["test"] is not None:
                tests.append((f"{attr}: {metric}", res["test"]))
    for (_, t), p in zip(tests, holm([t["p_value"] for _, t in tests])):
        t["p_holm"] = p
    out["holm_family"] = [name for name, _ in tests]
    out["holm_family_note"] = "every (attribute, metric) test of 'rates differ between groups' in this call"
    return out
