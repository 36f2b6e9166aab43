"""Watch-list identification measures: known answers by hand, interval coverage, person resampling,
alerts at base rates against a simulated stream, and the differential test's level and power."""

from __future__ import annotations

import json

import numpy as np
import pytest
from artifactual.analyses.identification import (
    BASE_RATES,
    IdentificationConfig,
    alert_numbers,
    alerts_at_base_rates,
    cmc,
    demographic_differentials,
    det_curve,
    evaluate_identification,
    fnir_at_fpir,
    operating_point,
    searches,
    simulate_alert_stream,
)
from scipy import integrate, optimize
from scipy import stats as st

# 4 mated searches (ranks 1, 2 by a tie, 2, 1) and 2 non-mated ones (top scores .4 and .5)
HAND_S = np.array([[.9, .2, .1], [.3, .8, .8], [.6, .7, .2], [.1, .2, .4], [.4, .1, .3], [.2, .5, .1]])
HAND_MATE = np.array([0, 1, 0, 2, -1, -1])


# ---- synthetic watch-lists with known truth -----------------------------------------------------

G, SA, SB = 50, 1.0, 0.5  # gallery size; sd of a person's shift of their mate score / non-mated scores


def _watchlist(rng, n_mated, n_nonmated, k, mu, miss_b=0.0):
    """Scores of ``k`` probes per person: impostor entries N(0, 1); the mate mu + person shift (sd SA) +
    N(0, 1); a non-mated person shifts all their row (sd SB). Persons alternate between groups 0 / 1;
    in group 1 a share ``miss_b`` of mated probes lose their mate score (drawn like an impostor's)."""
    n_m = n_mated * k
    S = rng.normal(size=((n_mated + n_nonmated) * k, G))
    pid = np.repeat(np.arange(n_mated + n_nonmated), k)
    grp = np.repeat(np.r_[np.arange(n_mated) % 2, np.arange(n_nonmated) % 2], k)
    mate = np.r_[np.repeat(rng.integers(0, G, n_mated), k), -np.ones(n_nonmated * k, int)]
    score = mu + np.repeat(rng.normal(0, SA, n_mated), k) + rng.normal(size=n_m)
    lost = (grp[:n_m] == 1) & (rng.random(n_m) < miss_b)
    score[lost] = rng.normal(size=lost.sum())
    S[np.arange(n_m), mate[:n_m]] = score
    S[n_m:] += np.repeat(rng.normal(0, SB, n_nonmated), k)[:, None]
    return S, mate, pid, grp


def _truth(mu, fpir):
    """True (FNIR at FPIR ``fpir``, rank-1 rate) of :func:`_watchlist` by quadrature."""
    x, w = np.polynomial.hermite_e.hermegauss(60)
    w = w / w.sum()  # E over the non-mated person's shift b ~ N(0, SB)
    t = optimize.brentq(lambda t: np.sum(w * (1 - st.norm.cdf(t - SB * x) ** G)) - fpir, 0, 10)
    sig = np.sqrt(1 + SA ** 2)  # the mate score's marginal sd; impostor entries are independent of it

    def hit(lo):
        return integrate.quad(lambda v: st.norm.pdf(v, mu, sig) * st.norm.cdf(v) ** (G - 1), lo, np.inf)[0]
    return 1 - hit(t), hit(-np.inf)


def _band(n, p=0.95, level=0.999):
    lo, hi = st.binom.interval(level, n, p)
    return lo / n, hi / n


# ---- known answers ----------------------------------------------------------------------------

def test_ranks_cmc_and_rates_at_a_threshold_by_hand():
    s = searches(HAND_S, HAND_MATE, np.arange(6))
    assert s.rank.tolist() == [1, 2, 2, 1, 0, 0]  # row 1: the mate ties a non-mate at .8 -> rank 2
    c = cmc(s, max_rank=5, n_boot=50)
    assert [p["rank"] for p in c["points"]] == [1, 2, 3]  # capped at the gallery size
    assert [p["rate"]["estimate"] for p in c["points"]] == [0.5, 1.0, 1.0]
    assert (c["n_searches"], c["n_persons"]) == (4, 4)
    o = operating_point(s, 0.45, n_boot=50)
    assert o["fpir"]["estimate"] == 0.5  # .5 >= .45, .4 < .45
    assert o["fnir"]["estimate"] == 0.75  # only row 0 is a rank-1 hit >= .45 (row 3's .4 is below)
    assert o["wrong_identity_alert_rate"]["estimate"] == 0.5  # rows 1, 2: a wrong rank-1 >= .45
    o = operating_point(s, 0.4, n_boot=50)
    assert (o["fpir"]["estimate"], o["fnir"]["estimate"]) == (1.0, 0.5)
    assert o["fpir"]["n_searches"] == 2 and o["fnir"]["n_persons"] == 4


def test_cmc_and_det_match_brute_force_with_ties():
    rng = np.random.default_rng(3)
    S = np.round(rng.normal(size=(120, 15)), 1)
    mate = np.where(rng.random(120) < 0.6, rng.integers(0, 15, 120), -1)
    S[mate >= 0, mate[mate >= 0]] += 1.0
    s = searches(S, mate, np.arange(120) // 3)
    m = np.flatnonzero(mate >= 0)
    ranks = np.array([1 + sum(S[i, j] >= S[i, mate[i]] for j in range(15) if j != mate[i]) for i in m])
    got = [p["rate"]["estimate"] for p in cmc(s, 15, n_boot=20)["points"]]
    assert np.allclose(got, [np.mean(ranks <= k) for k in range(1, 16)])
    d = det_curve(s)
    for t, fpir, fnir in list(zip(d["threshold"], d["fpir"], d["fnir"]))[::7]:
        assert fpir == np.mean(S[mate < 0].max(1) >= t)
        assert fnir == pytest.approx(np.mean([not (r == 1 and S[i, mate[i]] >= t) for i, r in zip(m, ranks)]))
    assert d["fpir"] == sorted(d["fpir"]) and d["fnir"] == sorted(d["fnir"], reverse=True)


def _threshold_case(nonmated_tops, hits):
    """Gallery of 2: non-mated rows [top, top - 1]; mated rows [hit, hit - 1], or a rank-2 mate for None."""
    rows = [[t, t - 1] for t in nonmated_tops] + [[h, h - 1] if h is not None else [0.0, 0.5] for h in hits]
    mate = np.r_[-np.ones(len(nonmated_tops), int), np.zeros(len(hits), int)]
    return searches(np.array(rows), mate, np.arange(len(rows)))


def test_fnir_at_fpir_threshold_by_hand():
    s = _threshold_case(np.arange(1, 11) / 10, [0.95, 0.92, 0.9, 0.5, None])
    r10, r20, r05 = fnir_at_fpir(s, (0.1, 0.2, 0.05), n_boot=50)
    # FPIR 0.1 of 10 searches: one may alert, so a hit must beat the 2nd highest non-mated top (.9)
    assert r10["threshold"] == np.nextafter(0.9, 1) and r10["fpir_achieved"] == 0.1
    assert r10["fnir"]["estimate"] == pytest.approx(3 / 5)  # .95, .92 hit; .9 ties, .5 low, rank 2
    assert r20["threshold"] == np.nextafter(0.8, 1) and r20["fnir"]["estimate"] == pytest.approx(2 / 5)
    assert not r05["estimable"] and r05["fnir"] is None
    assert r05["reason"] == "FPIR 0.05 needs >= 20 non-mated searches to set a threshold; there are 10"
    # tied non-mated tops: two at .9 with one false alert allowed -> the threshold must clear both
    s = _threshold_case([0.9, 0.9] + [0.1] * 8, [0.95, 0.5])
    r = fnir_at_fpir(s, (0.1,), n_boot=50)[0]
    assert r["threshold"] == np.nextafter(0.9, 1) and r["fpir_achieved"] == 0.0 and r["fnir"]["estimate"] == 0.5


def test_inputs_are_checked_and_outputs_are_json():
    with pytest.raises(ValueError, match="one entry per row"):
        searches(HAND_S, HAND_MATE[:5], np.arange(6))
    with pytest.raises(ValueError, match="gallery indices"):
        searches(HAND_S, np.array([0, 1, 0, 3, -1, -1]), np.arange(6))
    with pytest.raises(ValueError, match="finite"):
        searches(np.full((2, 2), np.nan), np.array([0, -1]), np.arange(2))
    with pytest.raises(ValueError, match="n_boot"):
        IdentificationConfig(n_boot=1)
    rng = np.random.default_rng(0)
    S, mate, pid, grp = _watchlist(rng, 60, 100, 2, 4.0)
    cfg = IdentificationConfig(n_boot=50, n_perm=50, min_persons=10)
    ev = evaluate_identification(S, mate, pid, cfg)
    op = operating_point(searches(S, mate, pid), 3.0, n_boot=50, return_draws=True)
    al = alerts_at_base_rates(op["fnir"]["estimate"], op["fpir"]["estimate"], op["draws"]["fnir"],
                              op["draws"]["fpir"])
    dd = demographic_differentials(S, mate, pid, {"g": grp}, fpir_target=0.1, config=cfg)
    for out in (ev, op, al, dd):
        json.dumps(out, allow_nan=False)
    assert [r["estimable"] for r in ev["fnir_at_fpir"]] == [True, True, False]  # 200 non-mated searches


# ---- intervals --------------------------------------------------------------------------------

def test_interval_coverage_of_fnir_at_fpir_and_rank1():
    """Coverage over 200 synthetic watch-lists (150 mated persons, 300 non-mated, 3 probes each,
    gallery 50; true FNIR at FPIR 0.01 = 0.347, rank-1 rate = 0.935; 300 bootstrap replicates).

    Measured: FNIR at FPIR 0.01 covered in 96% of datasets (threshold re-chosen per replicate); with
    the threshold held at the sample's, only 84% (what re-choosing is for). Rank-1: 90% here; 94% over
    1,000 further datasets (a percentile interval from 150 persons runs a little short). Band: the
    99.9% binomial range of 200 datasets around 0.95 is [0.895, 0.99].
    """
    fnir_true, rank1_true = _truth(4.5, 0.01)
    assert fnir_true == pytest.approx(0.347, abs=1e-3) and rank1_true == pytest.approx(0.935, abs=1e-3)
    hit_fnir = hit_fixed = hit_rank1 = 0
    for d in range(200):
        s = searches(*_watchlist(np.random.default_rng(d), 150, 300, 3, 4.5)[:3])
        r = fnir_at_fpir(s, (0.01,), n_boot=300, seed=d)[0]
        fixed = operating_point(s, r["threshold"], n_boot=300, seed=d)["fnir"]
        c = cmc(s, 1, n_boot=300, seed=d)["points"][0]["rate"]
        hit_fnir += r["fnir"]["ci_low"] <= fnir_true <= r["fnir"]["ci_high"]
        hit_fixed += fixed["ci_low"] <= fnir_true <= fixed["ci_high"]
        hit_rank1 += c["ci_low"] <= rank1_true <= c["ci_high"]
    lo, hi = _band(200)
    assert lo <= hit_fnir / 200 <= hi, hit_fnir
    assert lo <= hit_rank1 / 200 <= hi, hit_rank1
    assert hit_fixed < lo * 200, hit_fixed  # a fixed threshold under-covers: fails if the re-choice is dropped


def test_persons_not_images_are_resampled():
    # 40 persons x 10 probes, a strong person effect: whether a person is found depends mostly on the person.
    # Measured: person intervals 2.4x (rank-1) and 2.1x (FNIR at FPIR 0.1) as wide as image intervals.
    rng = np.random.default_rng(5)
    S, mate, pid, _ = _watchlist(rng, 40, 40, 10, 3.0)
    S[np.arange(400), mate[:400]] += np.repeat(rng.normal(0, 2, 40), 10)
    by_person, by_image = searches(S, mate, pid), searches(S, mate, np.arange(len(pid)))

    def width(e):
        return e["ci_high"] - e["ci_low"]
    r1_p, r1_i = (cmc(s, 1, n_boot=500)["points"][0]["rate"] for s in (by_person, by_image))
    assert r1_p["estimate"] == r1_i["estimate"] and width(r1_p) > 1.5 * width(r1_i)
    f_p, f_i = (fnir_at_fpir(s, (0.1,), n_boot=500)[0]["fnir"] for s in (by_person, by_image))
    assert width(f_p) > 1.3 * width(f_i)


# ---- alerts at base rates -----------------------------------------------------------------------

@pytest.mark.parametrize("base_rate", BASE_RATES)
def test_alert_closed_form_matches_a_simulated_stream(base_rate):
    fnir, fpir = 0.2, 0.003
    sim = simulate_alert_stream(fnir, fpir, base_rate, 1_000_000, n_streams=200, seed=1)
    want = {k: float(v) for k, v in alert_numbers(fnir, fpir, base_rate).items()}
    rel = 4 / np.sqrt(sim["true_alerts"])  # ~4 sd of the rarer count (true hits)
    assert sim["ppv"] == pytest.approx(want["ppv"], rel=rel)
    assert sim["false_alerts_per_true_hit"] == pytest.approx(want["false_alerts_per_true_hit"], rel=rel)
    assert sim["false_alerts_per"] == pytest.approx(want["false_alerts_per"], rel=4 / np.sqrt(sim["false_alerts"]))


def test_alert_intervals_come_from_the_draws():
    rng = np.random.default_rng(0)
    fnir_d, fpir_d = rng.uniform(0.1, 0.3, 1000), rng.uniform(0.005, 0.02, 1000)
    rows = alerts_at_base_rates(0.2, 0.01, fnir_d, fpir_d)
    assert [r["base_rate"] for r in rows] == list(BASE_RATES)
    ppv_d = alert_numbers(fnir_d, fpir_d, 1e-4)["ppv"]
    assert rows[2]["ppv"]["ci_low"] == pytest.approx(np.percentile(ppv_d, 2.5))
    assert rows[2]["ppv"]["ci_high"] == pytest.approx(np.percentile(ppv_d, 97.5))
    assert [r["ppv"]["estimate"] for r in rows] == sorted(r["ppv"]["estimate"] for r in rows)[::-1]
    assert rows[3]["false_alerts_per_true_hit"]["estimate"] == pytest.approx(0.01 * (1 - 1e-5) / (0.8 * 1e-5))
    note = alerts_at_base_rates(0.2, 0.0, base_rates=(1e-3,), n_nonmated=300)[0]
    assert note["ppv"]["estimate"] == 1.0 and note["ppv"]["ci_low"] is None and "3/n = 0.01" in note["note"]


# ---- demographic differentials --------------------------------------------------------------------

def test_differentials_by_hand():
    # gallery of 2; threshold .5. Non-mated tops f: .9 .1 .1 .1 (FPIR 1/4), m: .9 .9 .1 .1 (2/4);
    # mated hits f: .9 .9 .9 .2 (FNIR 1/4), m: .9 .2 .2 .2 (3/4)
    tops = [.9, .1, .1, .1, .9, .9, .1, .1]
    hits = [.9, .9, .9, .2, .9, .2, .2, .2]
    S = np.array([[t, t - 1] for t in tops + hits])
    mate = np.r_[-np.ones(8, int), np.zeros(8, int)]
    sex = np.tile(np.repeat(["f", "m"], 4), 2)
    cfg = IdentificationConfig(n_boot=100, n_perm=100, min_persons=4)
    r = demographic_differentials(S, mate, np.arange(16), {"sex": sex}, threshold=0.5, config=cfg)
    fp, fn = r["attributes"]["sex"]["fpir"], r["attributes"]["sex"]["fnir"]
    assert [g["rate"]["estimate"] for g in fp["groups"]] == [0.25, 0.5]
    assert [g["rate"]["estimate"] for g in fn["groups"]] == [0.25, 0.75]
    assert fp["reference_group"] == "f" and fp["groups"][1]["ratio_to_lowest"]["estimate"] == 2.0
    assert fn["groups"][1]["ratio_to_lowest"]["estimate"] == 3.0
    assert [(g["n_searches"], g["n_persons"]) for g in fn["groups"]] == [(4, 4), (4, 4)]
    assert r["holm_family"] == ["sex: fpir", "sex: fnir"] and r["threshold_rule"] == "given"
    assert fn["test"]["p_holm"] >= fn["test"]["p_value"]
    small = demographic_differentials(S, mate, np.arange(16), {"sex": sex}, threshold=0.5,
                                      config=IdentificationConfig(n_boot=20, n_perm=20, min_persons=5))
    g = small["attributes"]["sex"]["fnir"]
    assert not g["groups"][0]["judged"] and "4 persons < min_persons=5" in g["groups"][0]["reason"]
    assert g["test"] is None and small["holm_family"] == []
    with pytest.raises(ValueError, match="two values"):
        demographic_differentials(S, mate, np.arange(16) // 2, {"sex": np.tile(["f", "m"], 8)}, threshold=0.5)
    with pytest.raises(ValueError, match="pass threshold="):
        demographic_differentials(S, mate, np.arange(16), {"sex": sex}, fpir_target=0.01)


def test_differential_test_level_under_no_difference():
    """Both groups drawn alike: 200 datasets x 2 metrics (FPIR, FNIR at the threshold giving FPIR 0.1
    pooled; 200 mated + 400 non-mated persons, 2 probes each) = 400 permutation p-values.

    Measured: P(p <= 0.05) = 0.0275 here (11 of 400); 0.037 over 1,000 other datasets x 2 (0.024 /
    0.033 at FPIR 0.01, fewer events): the permutation test is exact, and conservative where few
    events make the statistic discrete (many permutations tie the observed split).
    Asserted: inside the 99.9% binomial band of 400 tests around 0.05, [0.0175, 0.09].
    """
    ps = []
    for d in range(200):
        S, mate, pid, grp = _watchlist(np.random.default_rng(1000 + d), 200, 400, 2, 4.5)
        r = demographic_differentials(S, mate, pid, {"g": grp}, fpir_target=0.1,
                                      config=IdentificationConfig(n_boot=2, n_perm=200, min_persons=20, seed=d))
        ps += [r["attributes"]["g"][m]["test"]["p_value"] for m in ("fpir", "fnir")]
    lo, hi = _band(400, 0.05)
    assert lo <= np.mean(np.array(ps) <= 0.05) <= hi, np.mean(np.array(ps) <= 0.05)


def test_differential_test_power_when_one_group_misses_twice_as_often():
    """Group 1 loses a share f / (1 - f) of its mate scores, doubling FNIR at FPIR 0.01 (f = 0.135 ->
    0.27); 200 mated persons (100 a group) x 2 probes, 400 non-mated. Measured power 0.85 (200 datasets)."""
    f = _truth(5.5, 0.01)[0]
    rejected, rates = [], []
    for d in range(200):
        S, mate, pid, grp = _watchlist(np.random.default_rng(d), 200, 400, 2, 5.5, miss_b=f / (1 - f))
        r = demographic_differentials(S, mate, pid, {"g": grp}, fpir_target=0.01,
                                      config=IdentificationConfig(n_boot=2, n_perm=200, min_persons=20, seed=d))
        m = r["attributes"]["g"]["fnir"]
        rejected.append(m["test"]["p_value"] <= 0.05)
        rates.append([g["rate"]["estimate"] for g in m["groups"]])
    assert np.mean(rates, 0) == pytest.approx([f, 2 * f], abs=0.02)
    assert np.mean(rejected) >= 0.75, np.mean(rejected)
