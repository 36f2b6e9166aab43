"""The "name that source" game: one static HTML page where a student guesses each face's photo source.

Issue 19, part 3. The page is built from the embedded default only: the 100 faces of scikit-image's
bundled LFW subset (news photos of public figures, redistributed with scikit-image), split as seed
000's embedded design splits them (:func:`~artifactual.replication.designs.goel2022.build_design`):
half passed through the mugshot-style capture (class A), half as found (class B). Nobody pictured is
a criminal; the classes are photo sources. :func:`build_game` takes no data root and never reads one,
so only those freely redistributable images are ever written into the page.

For each face the page shows the photo as its source delivered it (after the capture, before any
face detection), takes the student's guess, then reveals the true source and what a classifier that
never looks at a face guessed, out of fold, with the two or three properties that pushed it most.
Everything is inline (images as base64 PNG ``data:`` URIs, styles and script in the page): it opens
from a file, offline, with nothing to install.

    python -m artifactual.paper.game --out DIR [--seed N]
"""

from __future__ import annotations

import argparse
import base64
import html
import io
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from PIL import Image
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedGroupKFold
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler

from artifactual.analyses.probes import property_table
from artifactual.replication.designs.goel2022 import Goel2022Design, build_design, embedded_capture
from artifactual.replication.preprocess import wilson_interval
from artifactual.replication.runs import NotWritable, atomic_write_text, check_writable

GAME_FILE = "name_that_source.html"
FOLDS = 5  # out-of-fold guesses: each face is guessed by a model fitted on the other four fifths
N_REASONS = 3  # properties named under "why" for each face
GUESS = {1: "A: mugshot-style capture", 0: "B: portrait, as found"}  # the buttons' words, label -> text


@dataclass(frozen=True)
class GameProperty:
    """One property the classifier may read: its column in :func:`property_table`, words, unit, and
    why it carries no face (a single number about how the picture was taken, not about who is in it)."""

    name: str
    words: str
    unit: str
    why_non_facial: str


# Chosen from analyses.probes.PROPERTY_NAMES. Left out, on purpose:
# - width, height, aspect_ratio: in the embedded design the capture's padding makes every class-A
#   image 29 x 29 and every class-B one 25 x 25, so size is the label by bookkeeping; the page shows
#   every face in the same box, so the student cannot see it either.
# - jpeg_quality: NaN for every class-B image (never JPEG-encoded here), so "is it a JPEG at all" would
#   be the label by construction; blockiness measures the compression from the pixels instead.
# - luminance_mean, colourfulness, is_greyscale: the mean is dominated by the face's own skin and
#   lighting; the LFW subset is all grey, so colour carries nothing.
PROPERTIES: tuple[GameProperty, ...] = (
    GameProperty("background_brightness", "background brightness", " grey levels",
                 "measured only outside the ellipse that holds the face: the wall behind the head"),
    GameProperty("border_fraction", "plain border", " of the image",
                 "the constant bars along the edges (scanning, page layout), outside the face"),
    GameProperty("noise_sigma", "noise", " grey levels",
                 "the camera's and the scan's grain (finest wavelet band), not the face's shape"),
    GameProperty("sharpness_laplacian_var", "sharpness", "",
                 "how much fine detail survived the lens, resolution and compression"),
    GameProperty("blockiness", "JPEG blockiness", "",
                 "jumps at the 8 x 8 JPEG block grid: a trace of compression, not of a face"),
    GameProperty("luminance_std", "contrast", " grey levels",
                 "the spread of grey levels over the whole picture: flash, exposure and print"),
)


def property_classifier() -> Pipeline:
    """The game's classifier: standardised logistic regression (class A = 1) on the properties."""
    return make_pipeline(StandardScaler(), LogisticRegression(C=1.0, max_iter=1000))


def _png_data_uri(px: np.ndarray) -> str:
    buf = io.BytesIO()
    Image.fromarray(px).save(buf, "PNG")  # lossless: exactly the pixels the source delivered
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def _embedded_faces() -> tuple[pd.DataFrame, list[np.ndarray], list[bytes | None]]:
    """The embedded design's table and each face as delivered: captured (class A) or as found (B)."""
    ds = build_design(Goel2022Design(data="embedded", capture=embedded_capture()))
    rule = ds.pixel_rule()
    decoded = [rule.load(row) for row in ds.table.to_dict("records")]
    return ds.table, [d.pixels for d in decoded], [d.encoded for d in decoded]


def _number(v: float) -> str:
    return f"{v:,.0f}" if abs(v) >= 100 else f"{v:.3g}"


def _reason(prop: GameProperty, value: float, mean: float, z: float, contribution: float) -> str:
    level = "high" if z > 0 else "low"
    side = "A" if contribution > 0 else "B"
    return (f"{prop.words}: {level} for this photo ({_number(value)}{prop.unit}; the training photos average "
            f"{_number(mean)}), which points to {side}")


def _strongest(push: np.ndarray) -> list[int]:
    """Indices of the properties that pushed towards the guess most (``push`` > 0), largest first; at least
    two are named, so a guess carried by one property still shows what pulled the other way most."""
    order = [int(j) for j in np.argsort(-push, kind="stable")[:N_REASONS]]
    towards = [j for j in order if push[j] > 0]
    return towards if len(towards) >= 2 else order[:2]


def out_of_fold_guesses(x: pd.DataFrame, y: np.ndarray, groups: np.ndarray, seed: int) -> pd.DataFrame:
    """Each image's P(class A) from a model fitted on the other folds, with its fold and its "why".

    Folds are identity-grouped and stratified (:data:`FOLDS` of them, shuffled by ``seed``), so no model
    ever saw the face it guesses. The "why" is the per-image contribution ``coef_j * z_ij`` of that
    fold's model (their sum plus the intercept is the log-odds of A): the (up to) :data:`N_REASONS`
    that pushed most towards the class it guessed (see ``_strongest``).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> x = pd.DataFrame({"background_brightness": np.r_[rng.normal(90, 5, 10), rng.normal(240, 5, 10)],
    ...                   "noise_sigma": rng.normal(3, 1, 20)})
    >>> g = out_of_fold_guesses(x, np.repeat([0, 1], 10), np.arange(20), seed=0)
    >>> sorted(g["fold"].unique().tolist()), bool(((g["p_a"] > 0.5) == np.repeat([0, 1], 10)).all())
    ([0, 1, 2, 3, 4], True)
    """
    by_name = {p.name: p for p in PROPERTIES}
    cols = list(x.columns)
    p_a, fold_of, why = np.full(len(y), np.nan), np.full(len(y), -1), [None] * len(y)
    splitter = StratifiedGroupKFold(n_splits=FOLDS, shuffle=True, random_state=seed)
    for k, (train, test) in enumerate(splitter.split(x, y, groups)):
        model = property_classifier().fit(x.iloc[train], y[train])
        scaler, lr = model.named_steps["standardscaler"], model.named_steps["logisticregression"]
        z = scaler.transform(x.iloc[test])  # (n_test, n_properties)
        contrib = z * lr.coef_[0]  # (n_test, n_properties): log-odds each property adds towards A
        p_a[test] = model.predict_proba(x.iloc[test])[:, 1]
        fold_of[test] = k
        sign = np.where(p_a[test] > 0.5, 1.0, -1.0)[:, None]  # +1 where it guessed A, -1 for B
        for row, i in enumerate(test):
            top = _strongest(sign[row] * contrib[row])
            why[i] = [_reason(by_name[cols[j]], float(x.iloc[i, j]), float(scaler.mean_[j]), float(z[row, j]),
                              float(contrib[row, j])) for j in top]
    return pd.DataFrame({"p_a": p_a, "fold": fold_of, "why": why}, index=x.index)


def game_data(seed: int = 0) -> tuple[dict[str, Any], list[str]]:
    """What the page holds: a JSON-able dict (faces in play order, accuracy, properties) and the images.

    Properties of :data:`PROPERTIES` that take one value over all 100 faces are left out before fitting
    (they carry no information; with the embedded capture's JPEG ringing, border_fraction is 0 everywhere)
    and listed under ``constant_properties``.
    """
    table, pixels, encoded = _embedded_faces()
    props = property_table(pixels, encoded)
    wanted = [p.name for p in PROPERTIES]
    constant = [c for c in wanted if props[c].nunique(dropna=False) <= 1]  # no information, nothing to say
    used = [c for c in wanted if c not in constant]
    x, y = props[used], table["label"].to_numpy().astype(int)
    if x.isna().any().any():
        raise ValueError(f"properties {x.columns[x.isna().any()].tolist()} are NaN for some embedded faces")
    guesses = out_of_fold_guesses(x, y, table["identity"].astype(str).to_numpy(), seed)
    guess = (guesses["p_a"].to_numpy() > 0.5).astype(int)
    k, n = int((guess == y).sum()), len(y)
    low, high = wilson_interval(k, n)
    order = np.random.default_rng(seed).permutation(n)
    faces = [{
        "id": str(table["identity"].iloc[i]), "source": str(table["source"].iloc[i]),
        "source_words": "scikit-image's LFW subset, " + ("passed through the mugshot-style capture"
                                                         if table["captured"].iloc[i] else "as found"),
        "truth": "A" if y[i] else "B", "guess": "A" if guess[i] else "B", "p_a": float(guesses["p_a"].iloc[i]),
        "fold": int(guesses["fold"].iloc[i]), "why": guesses["why"].iloc[i],
        "properties": {c: float(x[c].iloc[i]) for c in used},
    } for i in order]
    capture = embedded_capture()
    data = {
        "seed": seed, "folds": FOLDS, "faces": faces, "guess_words": {"A": GUESS[1], "B": GUESS[0]},
        "accuracy": {"correct": k, "n": n, "accuracy": k / n, "ci95": [low, high], "interval": "Wilson"},
        "properties": [{"name": p.name, "words": p.words, "why_non_facial": p.why_non_facial}
                       for p in PROPERTIES if p.name in used],
        "constant_properties": constant,
        "capture": {"parts": capture.parts(), "jpeg_quality": capture.jpeg_quality,
                    "low_resolution_side": capture.low_resolution_side},
    }
    return data, [_png_data_uri(pixels[i]) for i in order]


def _writable_folder(out: Path) -> Path:
    """``out``, created, after :func:`~artifactual.replication.runs.check_writable` (an ``OSError`` naming it)."""
    try:
        check_writable(out, "the game's folder", "pass a folder you can write to")
    except NotWritable as exc:
        raise OSError(str(exc)) from None
    out.mkdir(parents=True, exist_ok=True)
    return out


def build_game(out: Path, seed: int = 0) -> Path:
    """Write the "name that source" page, ``out/name_that_source.html``, and return its path.

    Built from the embedded default only (never from a data root). ``seed`` shuffles the order of
    the faces and the classifier's cross-validation folds. The file is written atomically
    (:func:`~artifactual.replication.runs.atomic_write_text`).

    Parameters
    ----------
    out : Path
        Folder to write into (created when missing).
    seed : int
        Order of the faces and the folds.

    Returns
    -------
    Path
        The page.

    Raises
    ------
    OSError
        ``out`` is a file, cannot be created or is not writable (the message names the folder).

    Examples
    --------
    >>> import tempfile
    >>> page = build_game(Path(tempfile.mkdtemp()), seed=0)
    >>> text = page.read_text(encoding="utf-8")
    >>> page.name, text.count('<img class="face" src="data:image/png;base64,'), "https://" in text
    ('name_that_source.html', 100, False)
    """
    folder = _writable_folder(Path(out))
    data, images = game_data(seed)
    page = _render(data, images)
    target = folder / GAME_FILE
    atomic_write_text(target, page)
    return target


def _render(data: dict[str, Any], images: list[str]) -> str:
    acc = data["accuracy"]
    e = html.escape
    allowed = "".join(f"<li><b>{e(p['words'])}</b>: {e(p['why_non_facial'])}</li>" for p in data["properties"])
    words = {p.name: p.words for p in PROPERTIES}
    constant = [words[c] for c in data["constant_properties"]]
    left_out = (f"<p class=\"small\">Also allowed but constant over these {acc['n']} photos, so it told the classifier "
                f"nothing: {e(', '.join(constant))}.</p>") if constant else ""
    quality = data["capture"]["jpeg_quality"]
    parts = ", ".join(f"JPEG at quality {quality}" if part == "jpeg" else part.replace("_", " ")
                      for part in data["capture"]["parts"])
    intro = (
        f"<p>Each face below is a news photo of a public figure from scikit-image's bundled sample of "
        f"<i>Labeled Faces in the Wild</i>. <b>Nobody pictured is a criminal.</b> The two classes are photo "
        f"<b>sources</b>, built the way seed 000's &ldquo;criminal&rdquo; and &ldquo;non-criminal&rdquo; "
        f"classes were: <b>A</b> = half of the photos passed through a mugshot-style capture ({e(parts)}); "
        f"<b>B</b> = the other half, as found.</p>"
        f"<p>Guess each photo's source. Then see what a classifier guessed: a logistic regression that was "
        f"<b>never shown a face</b>, only these numbers about how each picture was taken:</p><ul>{allowed}</ul>"
        f"{left_out}<p>Each of its guesses comes from a model fitted on the other photos ({data['folds']}-fold "
        f"cross-validation), so it never saw the face it guesses. Over all {acc['n']} photos it is right "
        f"<b>{acc['correct']} / {acc['n']}</b> ({100 * acc['accuracy']:.0f}%, 95% interval "
        f"{100 * acc['ci95'][0]:.0f}&ndash;{100 * acc['ci95'][1]:.0f}%, Wilson). If a classifier can name the "
        f"source without a face, a &ldquo;criminality&rdquo; classifier trained on sources can too.</p>")
    imgs = "\n".join(f'<img class="face" src="{uri}" alt="face {i + 1}" hidden>' for i, uri in enumerate(images))
    payload = json.dumps(data).replace("</", "<\\/")  # nothing in the JSON can close the script element
    return (_PAGE.replace("%INTRO%", intro).replace("%IMAGES%", imgs).replace("%DATA%", payload)
            .replace("%GUESS_A%", e(GUESS[1])).replace("%GUESS_B%", e(GUESS[0])))


_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Name that source</title>
<style>
body { font-family: system-ui, sans-serif; max-width: 46rem; margin: 1.5rem auto; padding: 0 1rem;
       color: #1d1d1f; line-height: 1.45; }
h1 { margin-bottom: 0.3rem; }
.small { font-size: 0.9rem; color: #555; }
#game { display: flex; gap: 1.5rem; flex-wrap: wrap; align-items: flex-start; margin-top: 1rem; }
.face { width: 232px; height: 232px; image-rendering: pixelated; image-rendering: crisp-edges;
        border: 1px solid #999; background: #fff; }
#panel { flex: 1; min-width: 16rem; }
button { font-size: 1rem; padding: 0.5rem 0.8rem; margin: 0.2rem 0.3rem 0.2rem 0; cursor: pointer;
         border-radius: 6px; border: 1px solid #666; background: #f4f4f4; }
button:disabled { opacity: 0.5; cursor: default; }
#score { font-weight: bold; margin: 0.6rem 0; }
#reveal { border-left: 4px solid #888; padding-left: 0.8rem; }
.right { color: #0a6b2c; } .wrong { color: #a3161b; }
</style></head>
<body>
<h1>Name that source</h1>
%INTRO%
<div id="game">
<div id="faces">
%IMAGES%
</div>
<div id="panel">
<div id="counter"></div>
<div><button id="guess-A" data-guess="A">%GUESS_A%</button><button id="guess-B" data-guess="B">%GUESS_B%</button></div>
<div id="score">you 0 / 0, classifier 0 / 0</div>
<div id="reveal" hidden></div>
<button id="next" hidden>next face</button>
</div></div>
<script type="application/json" id="game-data">%DATA%</script>
<script>
"use strict";
const data = JSON.parse(document.getElementById("game-data").textContent);
const faces = Array.from(document.querySelectorAll("img.face"));
const reveal = document.getElementById("reveal"), next = document.getElementById("next");
const buttons = [document.getElementById("guess-A"), document.getElementById("guess-B")];
let i = 0, you = 0, clf = 0, seen = 0;
function el(tag, text, cls) { const e = document.createElement(tag); e.textContent = text;
  if (cls) e.className = cls; return e; }
function show() {
  faces.forEach((f, j) => { f.hidden = j !== i; });
  document.getElementById("counter").textContent = "face " + (i + 1) + " of " + faces.length;
  reveal.hidden = true; next.hidden = true;
  buttons.forEach(b => { b.disabled = false; });
}
function guess(g) {
  const f = data.faces[i];
  buttons.forEach(b => { b.disabled = true; });
  seen += 1; if (g === f.truth) you += 1; if (f.guess === f.truth) clf += 1;
  document.getElementById("score").textContent =
    "you " + you + " / " + seen + ", classifier " + clf + " / " + seen;
  const p = f.guess === "A" ? f.p_a : 1 - f.p_a;
  reveal.replaceChildren(
    el("p", "You said \u201c" + data.guess_words[g] + "\u201d: " + (g === f.truth ? "right." : "wrong."),
       g === f.truth ? "right" : "wrong"),
    el("p", "True source: \u201c" + data.guess_words[f.truth] + "\u201d (" + f.source_words + ")."),
    el("p", "The classifier guessed \u201c" + data.guess_words[f.guess] + "\u201d with probability " +
       Math.round(100 * p) + "%: " + (f.guess === f.truth ? "right." : "wrong."),
       f.guess === f.truth ? "right" : "wrong"),
    el("p", "Why (the properties that pushed its guess most for this photo):"));
  const ul = document.createElement("ul");
  f.why.forEach(w => ul.appendChild(el("li", w)));
  reveal.appendChild(ul);
  reveal.hidden = false;
  if (i + 1 < faces.length) { next.hidden = false; }
  else { reveal.appendChild(el("p", "That was the last face. Reload the page to play again.")); }
}
buttons.forEach(b => b.addEventListener("click", () => guess(b.dataset.guess)));
next.addEventListener("click", () => { i += 1; show(); });
show();
</script>
</body></html>
"""


def main(argv: list[str] | None = None) -> int:
    """``python -m artifactual.paper.game --out DIR [--seed N]``: build the page, print its path."""
    ap = argparse.ArgumentParser(prog="python -m artifactual.paper.game",
                                 description="Build the 'name that source' game (one offline HTML page) "
                                             "from the embedded faces.")
    ap.add_argument("--out", type=Path, required=True, help="folder to write name_that_source.html into")
    ap.add_argument("--seed", type=int, default=0, help="order of the faces and the cross-validation folds")
    args = ap.parse_args(argv)
    print(build_game(args.out, seed=args.seed))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
