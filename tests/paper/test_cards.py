"""Claim cards (artifactual.paper.cards): every number on a card is the summary's, a missing summary or key is
said on the card, and the cards compile as standalone PDFs and as the report's "Claim cards" appendix. The
summaries are small made-up dicts written into tmp_path, with only the keys the extractors read."""

from __future__ import annotations

import copy
import json
import warnings
from pathlib import Path

import pytest
from helpers import pdf_flat_text

from artifactual.paper.build import build
from artifactual.paper.cards import SEED_CARDS, CardWarning, build_cards, card_data, main

REAL_RESULTS = Path(__file__).resolve().parents[2] / "results"


def _m(est, lo, hi):
    return {"estimate": est, "ci_low": lo, "ci_high": hi}


# Made-up numbers, none a real result; each summary holds the keys its extractor reads.
SUMMARIES = {
    "goel2022": {
        "never_about_real_people": "classes are photo sources",
        "headline": {"model": "knabenhans_cnn", "auroc": 0.8712, "auroc_ci": [0.6123, 0.9988], "n": 38,
                     "average_precision": 0.8, "average_precision_ci": [0.7, 0.9], "paper_auroc": 0.99,
                     "paper_average_precision": 0.98},
        "checks": [
            {"name": "capture_properties", **_m(0.911, 0.801, 0.977), "n": 1234, "p_holm": 0.004},
            {"name": "face_removed_dilated", **_m(0.822, 0.711, 0.933), "n": 1234, "p_holm": 0.0004},
        ],
        "decomposition": {"table": {"explained_share": {"estimate": 0.4321, "ci": [0.3011, 0.5599], "n": 555}}},
        "verdict": "source_confound",
        "verdict_reasons": ["made-up reason one"],
    },
    "goel2022-fpt": {
        "paper_claims": {"auroc": 0.99, "encrypted_auroc": 0.98},
        "models": [{"dataset": "confounded_design", "name": "fpt_minilm_pretrained", "auroc": 0.777,
                    "ci_low": 0.666, "ci_high": 0.888, "n": 99, "identities": 90}],
        "encryption": [
            {"dataset": "confounded_design", "scheme": "chaos_literal", "model": "fpt_minilm_pretrained",
             "auroc": 0.7531, "ci_low": 0.6502, "ci_high": 0.8497, "n": 99, "identities": 90},
            {"dataset": "confounded_design", "scheme": "chaos_literal", "model": "image_property_probes",
             "auroc": 0.9135, "ci_low": 0.8642, "ci_high": 0.9518, "n": 99, "identities": 90},
        ],
    },
    "shanmugapriyan": {
        "seed_claim": {"rank1_at_50": 0.86, "gallery_size": 50},
        "pipelines": {"dlib": {
            "galleries": [
                {"size": 50, "cmc": {"points": [{"rank": 1, "rate": _m(0.9111, 0.8222, 0.9777)}], "n_searches": 77}},
                {"size": 500, "cmc": {"points": [{"rank": 1, "rate": _m(0.8111, 0.7222, 0.8777)}], "n_searches": 700},
                 "fnir_at_fpir": [{"fpir_target": 0.01, "fnir": _m(0.6061, 0.5152, 0.7071),
                                   "mated": {"n_searches": 700}}]},
            ],
            "alerts": [{"base_rate": 0.0001, "ppv": _m(0.0051, 0.0021, 0.0091),
                        "false_alerts_per_true_hit": {"estimate": 199.4}}],
            "degradations": [{"degradation": "face 24 px", "fnir": {**_m(0.8123, 0.7812, 0.8434), "n_searches": 321}},
                             {"degradation": "greyscale", "fnir": {**_m(0.5012, 0.4701, 0.5323), "n_searches": 321}}],
            "field": {"clean_one_probe": {"fnir": _m(0.4012, 0.3701, 0.4323)}},
        }},
    },
    "knabenhans2024": {
        "seed_paper": {"table1": {"test": {"accuracy": 0.85}}, "model2_test": {"balanced_accuracy": 0.897,
                                                                               "roc_auc": 0.961},
                       "table3_race": {"accuracy": [0.876, 0.018, 0.042]}},
        "models": [{"name": "logreg", "test": {"n": 444, "accuracy": _m(0.7444, 0.7011, 0.7822)}},
                   {"name": "cnn_2", "test": {"n": 444, "balanced_accuracy": _m(0.8133, 0.7801, 0.8455),
                                              "roc_auc": _m(0.9011, 0.8802, 0.9233)}}],
        "fairness_model": "cnn_2",
        "fairness": {
            "overall": {"n": 444},
            "config": {"min_n": 30},
            "attributes": {
                "race": {"difference": {"accuracy": _m(0.1666, 0.0888, 0.2444)},
                         "largest_deviation": {"accuracy": {"group": "2 Asian", "deviation": -0.1234,
                                                            "band_low": -0.2345, "band_high": -0.0123, "n": 88,
                                                            "p_adjusted": 0.021}},
                         "parity": "differs", "statement": "made-up race statement"},
                "race x age_band": {"excluded_groups": ["a", "b", "c"], "eligible_groups": ["d", "e"]},
            },
        },
        "lfw_shift": {"cnn_2": {"lfw_face_crop": {"n": 1300, "identities": 600,
                                                  "overall": {"accuracy": _m(0.6543, 0.6321, 0.6765)}}}},
        "audit": {"verdict": "no_confound_detected"},
    },
    "adams2020": {
        "config": {"cross_modal": {"n_attributes": 40}},
        "test_mse": {"cross_modal": {"n": 1000, "mse": 0.0711, "interval": [0.0688, 0.0733], "seed": 0.075,
                                     "mse_mean_image": 0.0744},
                     "mvae": {"n": 1000, "mse": 0.0755, "interval": [0.0722, 0.0788], "seed": 0.7804}},
        "approaches": {"cross_modal": {
            "identification": {"sketch": {"top1": {**_m(0.0067, 0.0, 0.0167), "n": 300}, "chance_top1": 0.01,
                                          "candidates": 100},
                               "attributes_only": {"top1": {**_m(0.9933, 0.98, 1.0), "n": 300}, "chance_top1": 0.01}},
            "collapse": {"to_mean_face": {"generated": {**_m(0.0855, 0.0833, 0.0877), "n": 1000},
                                          "real": _m(0.2666, 0.2633, 0.2699)}},
        }},
    },
    "crimevision": {
        "seed_claim": {"accuracy": 0.83},
        "results": [
            {"model": "densenet121_scratch", "protocol": "random_frames", "chance": {"majority": 0.31},
             "metrics": {"accuracy": _m(0.7777, 0.5561, 0.9333), "n_frames": 800, "n_videos": 30}},
            {"model": "densenet121_scratch", "protocol": "video_grouped", "chance": {"majority": 0.41},
             "metrics": {"accuracy": _m(0.0333, 0.0, 0.0666), "n_frames": 900, "n_videos": 8}},
            {"model": "thumb_logreg", "protocol": "random_frames", "chance": {"majority": 0.31},
             "metrics": {"accuracy": _m(0.9911, 0.9822, 0.9977), "n_frames": 4000, "n_videos": 33}},
        ],
        "inflation": [{"model": "thumb_logreg", "minus": "video_grouped", **_m(0.8222, 0.7111, 0.9111),
                       "p_value": 0.001, "n_videos": [33, 33]}],
        "duplicates": {"random_frames": {"n_duplicate_phash": 3600, "n_compared": 4000,
                                         "fraction_duplicate_phash": 0.9}},
        "video_naming": {"thumb": {"accuracy": _m(0.9988, 0.9966, 1.0), "n_frames": 4000, "n_videos": 33,
                                   "chance": 0.0303}},
        "audit": {"verdict": "no_confound_detected", "verdict_reasons": ["made-up audit reason"]},
    },
}


def _write(root: Path, summaries: dict) -> Path:
    for study, summary in summaries.items():
        (root / study).mkdir(parents=True, exist_ok=True)
        (root / study / "summary.json").write_text(json.dumps(summary))
    return root


def _cards(results: Path) -> dict[str, dict]:
    with warnings.catch_warnings():
        warnings.simplefilter("error", CardWarning)  # a complete summary gives no warning
        return {c["seed"]: c for c in card_data(results)}


def _row(rows: list[dict], start: str) -> dict:
    hits = [r for r in rows if r["label"].startswith(start)]
    assert len(hits) == 1, (start, [r["label"] for r in rows])
    return hits[0]


def _text(cards: dict, seed: str, slot: str, start: str) -> str:
    return _row(cards[seed][slot], start)["text"]


def test_card_numbers_are_the_summarys(tmp_path):
    cards = _cards(_write(tmp_path, SUMMARIES))
    assert [c["status"] for c in cards.values()] == ["ok"] * 5
    assert json.loads(json.dumps(list(cards.values()))) == list(cards.values())  # JSON-able as it is

    auroc = _row(cards["000"]["reproduction"], "AUROC, the seed's design")
    assert auroc["text"] == "0.871 [0.612, 0.999], n = 38 images"
    assert (auroc["estimate"], auroc["ci"], auroc["n"], auroc["seed"]) == (0.8712, [0.6123, 0.9988], 38, "0.99")
    assert _text(cards, "000", "reproduction", "AUROC on \"chaos") == "0.753 [0.650, 0.850], n = 99 images (90 people)"
    assert _text(cards, "000", "controls", "File and") == "0.911 [0.801, 0.977], n = 1,234 images; Holm p 0.004"
    assert _row(cards["000"]["controls"], "Face, hair")["text"].endswith("Holm p < 0.001")
    assert _row(cards["000"]["controls"], "Share of the headline")["ci"] == [0.3011, 0.5599]
    assert cards["000"]["verdict"] == "Source confound" and cards["000"]["verdict_reasons"] == ["made-up reason one"]
    assert "0.871" in cards["000"]["meaning"] and "0.911" in cards["000"]["meaning"]

    assert _text(cards, "001", "reproduction", "Rank-1 identification, 50 people") == (
        "0.911 [0.822, 0.978], n = 77 searches")
    assert _row(cards["001"]["controls"], "Enrolled people")["label"].startswith("Enrolled people missed (FNIR) at 500")
    assert _row(cards["001"]["controls"], "Missed with")["estimate"] == 0.8123  # the worst degradation
    assert "199 false alerts" in cards["001"]["meaning"]

    assert _row(cards["002"]["controls"], "Accuracy spread")["seed"] == "0.042"
    assert _row(cards["002"]["controls"], "Worst race group (2 Asian)")["text"] == (
        "-0.123 [-0.234, -0.012], n = 88 test images; adjusted p 0.021")
    assert _row(cards["002"]["controls"], "Race x age")["text"].startswith("3 of 5 groups; each under n = 30")
    assert cards["002"]["verdict"] == "Source audit: no confound detected. Fairness across race: differs."

    assert _row(cards["003"]["reproduction"], "Test MSE, MVAE")["seed"] == "0.7804"
    assert _text(cards, "003", "controls", "A generated face") == "0.007 [0.000, 0.017], n = 300 searches; chance 0.010"

    assert _row(cards["004"]["reproduction"], "Accuracy, densenet121")["text"] == (
        "0.778 [0.556, 0.933], n = 800 frames (30 videos); majority class 0.310")
    assert _row(cards["004"]["controls"], "The same model")["estimate"] == 0.0333
    assert cards["004"]["verdict_reasons"] == ["made-up audit reason"]


def test_a_changed_value_changes_the_card(tmp_path):
    changed = copy.deepcopy(SUMMARIES)
    changed["goel2022"]["headline"]["auroc"] = 0.5561
    changed["crimevision"]["results"][1]["metrics"]["accuracy"] = _m(0.2222, 0.1111, 0.3333)
    cards = _cards(_write(tmp_path, changed))
    assert _row(cards["000"]["reproduction"], "AUROC, the seed's design")["text"].startswith("0.556 [0.612, 0.999]")
    assert "AUROC 0.556" in cards["000"]["meaning"]
    assert _row(cards["004"]["controls"], "The same model")["text"].startswith("0.222 [0.111, 0.333]")


def test_missing_summary_gives_the_not_run_card_with_its_command(tmp_path):
    partial = {k: v for k, v in SUMMARIES.items() if k not in ("goel2022-fpt", "adams2020")}
    cards = _cards(_write(tmp_path, partial))
    assert cards["003"]["status"] == "not_run"
    assert cards["003"]["command"] == "artifactual replicate adams2020 --data-root DIR"
    assert cards["003"]["reproduction"] == [] and cards["003"]["meaning"] is None
    # seed 000 stands on goel2022; its goel2022-fpt rows say that study has not run, and how to run it
    enc = _row(cards["000"]["reproduction"], "AUROC on \"chaos")
    assert enc["text"].startswith("not run yet:") and "artifactual replicate goel2022-fpt --embedded" in enc["text"]
    assert not any(r["label"].startswith("Image-property probes") for r in cards["000"]["controls"])
    assert card_data(tmp_path / "nothing")[0]["command"] == "artifactual replicate goel2022 --embedded"


def test_missing_key_names_the_file_and_the_key(tmp_path):
    broken = copy.deepcopy(SUMMARIES)
    del broken["knabenhans2024"]["fairness"]["attributes"]["race"]["largest_deviation"]
    broken["crimevision"]["video_naming"]["thumb"]["accuracy"]["estimate"] = None  # a null is no number either
    results = _write(tmp_path, broken)
    with pytest.warns(CardWarning) as caught:
        cards = {c["seed"]: c for c in card_data(results)}
    messages = [str(w.message) for w in caught]
    key = "fairness.attributes.race.largest_deviation"
    assert any(str(results / "knabenhans2024" / "summary.json") in m and f"'{key}'" in m for m in messages)
    assert _row(cards["002"]["controls"], "Worst race group")["text"] == f"not in this summary: {key}"
    assert cards["002"]["meaning"] == f"not in this summary: {key}"
    assert _row(cards["002"]["controls"], "Accuracy spread")["estimate"] == 0.1666  # the rest of the card stands
    assert _text(cards, "004", "controls", "One frame") == "not in this summary: video_naming.thumb.accuracy.estimate"
    assert any("crimevision" in m and "video_naming.thumb.accuracy.estimate" in m for m in messages)
    assert cards["002"]["warnings"] and cards["001"]["warnings"] == []


def test_a_nan_in_a_summary_is_shown_as_absent_and_the_standalone_card_still_compiles(tmp_path):
    # Python writes an unmeasured value as NaN; Typst's JSON reader rejects NaN (the report's data.json had it
    # removed, the standalone cards.json did not)
    broken = copy.deepcopy(SUMMARIES)
    broken["crimevision"]["video_naming"]["thumb"]["accuracy"]["estimate"] = float("nan")
    broken["crimevision"]["video_naming"]["thumb"]["accuracy"]["ci_low"] = float("nan")  # an interval's open end
    results = _write(tmp_path / "results", broken)
    with pytest.warns(CardWarning, match="non-finite number at key 'video_naming.thumb.accuracy.estimate'"):
        pdfs = build_cards(results, tmp_path / "cards")
    assert "NaN" not in (tmp_path / "cards" / "cards.json").read_text()
    assert "not in this summary: video_naming.thumb.accuracy.estimate" in pdf_flat_text(pdfs[4])


def test_build_cards_writes_five_pdfs_with_quote_and_number(tmp_path):
    results = _write(tmp_path / "results", SUMMARIES)
    pdfs = build_cards(results, tmp_path / "cards")
    assert [p.name for p in pdfs] == [f"{c.name}.pdf" for c in SEED_CARDS]
    expected = {"000": "0.871 [0.612, 0.999]", "001": "0.911 [0.822, 0.978]", "002": "0.744 [0.701, 0.782]",
                "003": "0.0711 [0.0688, 0.0733]", "004": "0.778 [0.556, 0.933]"}
    for spec, pdf in zip(SEED_CARDS, pdfs):
        assert pdf.read_bytes()[:4] == b"%PDF"
        text = pdf_flat_text(pdf)
        assert spec.claims[0].quote[:40] in text, spec.seed
        assert expected[spec.seed] in text, spec.seed
        assert "not in this summary" not in text
    assert not list((tmp_path / "cards").glob(".*tmp"))  # written atomically, nothing left behind


def test_cli_and_not_run_cards(tmp_path, capsys):
    assert main(["--results", str(tmp_path / "none"), "--out", str(tmp_path / "cards")]) == 0
    out = capsys.readouterr().out
    assert out.count("not run yet: artifactual replicate") == 5
    text = pdf_flat_text(tmp_path / "cards" / "seed004_crimevision.pdf")
    assert "Not run yet" in text and "artifactual replicate crimevision --data-root DIR" in text


def test_report_has_claim_cards(tmp_path):
    # no summaries: the sections' own fixtures live in test_paper.py; here the appendix and its five cards
    pdf = build(tmp_path / "results", out_dir=tmp_path / "build", figures_dir=tmp_path / "figures")
    data = json.loads((tmp_path / "build" / "data.json").read_text())
    assert [c["seed"] for c in data["cards"]] == ["000", "001", "002", "003", "004"]
    assert all(c["status"] == "not_run" for c in data["cards"])
    text = pdf_flat_text(pdf)
    assert "Claim cards" in text and text.count("Claim card: seed") == 5
    assert SEED_CARDS[4].claims[0].quote in text and "artifactual replicate crimevision --data-root DIR" in text


def test_cards_never_call_anyone_criminal(tmp_path):
    cards = _cards(_write(tmp_path, SUMMARIES))
    assert "constructed, source-defined set of public faces" in cards["000"]["use"]
    for card in cards.values():  # "criminal" only inside the seed's quotes or in saying that nobody is one
        for slot in ("reproduction", "controls"):
            assert "criminal" not in json.dumps(card[slot]).lower()
        assert "criminal" not in (card["meaning"] + card["verdict"]).lower()


@pytest.mark.skipif(not all((REAL_RESULTS / s / "summary.json").is_file() for c in SEED_CARDS for s in c.studies),
                    reason="the real results/<study>/summary.json files are absent (results/ is git-ignored)")
def test_real_summaries_give_complete_cards(tmp_path):
    with warnings.catch_warnings():
        warnings.simplefilter("error", CardWarning)
        cards = card_data(REAL_RESULTS)
    assert all(c["status"] == "ok" for c in cards)
    assert "not in this summary" not in json.dumps(cards) and "not run yet" not in json.dumps(cards)
    pdfs = build_cards(REAL_RESULTS, tmp_path / "cards")
    assert len(pdfs) == 5 and all(p.read_bytes()[:4] == b"%PDF" for p in pdfs)
