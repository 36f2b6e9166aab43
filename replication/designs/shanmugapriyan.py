"""Seed 001's watch-list, constructed from public faces: who is enrolled, who searches, nested galleries.

Seed 001 (Shanmugapriyan et al.) matches camera faces against a "criminal database". Nobody here is a
criminal: the watch-list is a **constructed watch-list of public faces** (LFW's people, by name), and the
searches are other photographs of the same public people. The design follows NIST FRTE 1:N (NISTIR 8271):

- **Non-mated searchers**: a fixed random set of people never enrolled in any gallery (half from people with
  two or more photographs, half from people with one), at most ``max_images_nonmated`` photographs each. Their
  searches set the threshold (FPIR) and measure false alerts.
- **Enrolled people**, in one seeded order, so every gallery is nested in the next (50 in 100 in ... 5,000):
  first people with two or more photographs (their first photograph, in file order, is enrolled; up to
  ``max_probes`` of the others are mated searches), then people with one photograph as distractors (enrolled,
  never searched: at 5,000 there are not enough people with two photographs, as in any real watch-list most
  enrolled people are never seen). A gallery of ``G`` is the first ``G`` of that order.

The unit of resampling is the person (``identity``): every search row says whose face it is.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

WATCHLIST_NOTE = "constructed watch-list of public faces; nobody in it is a criminal"


@dataclass(frozen=True)
class WatchlistDesign:
    gallery_sizes: tuple[int, ...] = (50, 100, 500, 1000, 5000)
    nonmated_people: int = 700  # half with 2+ photographs, half with one: ~1,300 searches (FPIR 0.001 needs 1,000)
    max_images_nonmated: int = 4  # one person's many photographs must not dominate FPIR (George W Bush: 530)
    max_probes: int = 3  # mated searches per enrolled person
    seed: int = 0

    def __post_init__(self) -> None:
        if not self.gallery_sizes or any(g < 2 for g in self.gallery_sizes):
            raise ValueError(f"gallery_sizes must be sizes of at least 2, got {self.gallery_sizes}")
        if tuple(sorted(self.gallery_sizes)) != tuple(self.gallery_sizes):
            raise ValueError(f"gallery_sizes must be increasing (galleries are nested), got {self.gallery_sizes}")
        if self.nonmated_people < 2 or self.max_images_nonmated < 1 or self.max_probes < 1:
            raise ValueError("nonmated_people >= 2, max_images_nonmated >= 1 and max_probes >= 1 are needed")


def build_watchlist(table: pd.DataFrame, design: WatchlistDesign) -> tuple[pd.DataFrame, dict]:
    """Roles for the usable rows of ``table`` (columns ``path``, ``identity``; ``gender`` when present).

    Returns a table with one row per photograph used: ``role`` (``enrol``, ``mated``, ``nonmated``),
    ``order`` (the enrolled person's place in the nested order; a mated search carries its person's order),
    and the counts (people and photographs per role, and the largest gallery the data allow).

    >>> t = pd.DataFrame({"path": [f"p{i}_{j}.jpg" for i in range(8) for j in range(1 + i % 3)],
    ...                   "identity": [f"p{i}" for i in range(8) for j in range(1 + i % 3)]})
    >>> roles, counts = build_watchlist(t, WatchlistDesign(gallery_sizes=(2, 4), nonmated_people=2, seed=1))
    >>> counts["gallery_sizes"], sorted(roles["role"].unique())
    ([2, 4], ['enrol', 'mated', 'nonmated'])
    >>> bool(roles.groupby("identity")["role"].agg(lambda r: not ({"nonmated"} & set(r) and len(set(r)) > 1)).all())
    True
    """
    rng = np.random.default_rng(design.seed)
    t = table[table["identity"].notna()].copy()
    t = t.sort_values(["identity", "path"], kind="stable")
    n_img = t.groupby("identity")["path"].transform("size")
    people = t.groupby("identity")["path"].size()
    multi = np.array(sorted(people[people >= 2].index))
    single = np.array(sorted(people[people == 1].index))
    half = design.nonmated_people // 2
    if len(multi) < half + 2 or len(single) < design.nonmated_people - half:
        raise ValueError(f"the data have {len(multi)} people with 2+ photographs and {len(single)} with one; the "
                         f"design needs {half + 2}+ and {design.nonmated_people - half}+ (lower nonmated_people)")
    non = set(rng.choice(multi, half, replace=False)) | set(rng.choice(single, design.nonmated_people - half,
                                                                       replace=False))
    order = ([p for p in rng.permutation(multi) if p not in non] + [p for p in rng.permutation(single) if p not in non])
    place = {p: i for i, p in enumerate(order)}
    rank_in_person = t.groupby("identity").cumcount()
    role = np.where(t["identity"].isin(non), "nonmated", np.where(rank_in_person == 0, "enrol", "mated"))
    t = t.assign(role=role, order=t["identity"].map(place).fillna(-1).astype(int), n_photos=n_img)
    keep = ((t["role"] == "enrol") | ((t["role"] == "mated") & (rank_in_person <= design.max_probes))
            | ((t["role"] == "nonmated") & (rank_in_person < design.max_images_nonmated)))
    t = t[keep]
    biggest = len(order)
    sizes = [g for g in design.gallery_sizes if g <= biggest]
    dropped = [g for g in design.gallery_sizes if g > biggest]
    counts = {
        "gallery_sizes": sizes, "gallery_sizes_too_big": dropped, "largest_possible_gallery": biggest,
        "enrolable_people_with_probes": int(sum(1 for p in order if people[p] >= 2)),
        "nonmated_people": len(non), "nonmated_searches": int((t["role"] == "nonmated").sum()),
        "mated_searches": int((t["role"] == "mated").sum()), "note": WATCHLIST_NOTE,
    }
    return t.reset_index(drop=True), counts


def gallery_members(roles: pd.DataFrame, size: int) -> pd.DataFrame:
    """The enrolment rows of the gallery of ``size`` people (the first ``size`` of the nested order)."""
    return roles[(roles["role"] == "enrol") & (roles["order"] < size)]


def searches(roles: pd.DataFrame, size: int) -> pd.DataFrame:
    """The searches against the gallery of ``size``: mated ones of its members, and every non-mated one."""
    return roles[((roles["role"] == "mated") & (roles["order"] < size)) | (roles["role"] == "nonmated")]
