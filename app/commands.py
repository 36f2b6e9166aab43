"""The commands of the ``artifactual`` command line: the parser and what each command does.

``artifactual.app.cli`` is the entry point: it installs the signal handlers before this module (and the
whole project with it, 2-3 s of imports) is loaded, so a Ctrl-C at any moment is one line.

>>> from artifactual.app.commands import build_parser
>>> build_parser().parse_args(["data", "summarize", "--dataset", "orl"]).dataset
'orl'
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import artifactual.analyses.studies  # noqa: F401  (registers every study)
from artifactual.replication.config import override, parse_assignments
from artifactual.replication.data import DATA_ENV, DATASETS, load_dataset
from artifactual.replication.data.dataset import DatasetError
from artifactual.replication.faceid.gallery import GalleryError
from artifactual.replication.data.summary import format_summary, summarize
from artifactual.replication.preprocess import Goel2022Preprocess, detection_rates, preprocess_dataset
from artifactual.replication.models import MODELS
from artifactual.replication.parallel import ENGINES, use_engine, use_settings
from artifactual.replication.runs import atomic_write_json, atomic_write_text, check_writable
from artifactual.replication.study import STUDIES, RunContext
from artifactual.paper.figures import FigureError, draw

DATA_HELP = f"folder holding lfw/, utkface/ and orl/ (default: ${DATA_ENV})"


def _add_common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--workers", type=int, default=None, help="processes for decoding (default: all cores)")
    p.add_argument("--no-progress", action="store_true", help="hide progress bars")


def _add_engine(p: argparse.ArgumentParser) -> None:
    p.add_argument("--engine", default="loky", choices=ENGINES,
                   help="where decoding and units run: loky (this machine, default) or dask (a cluster; "
                        "needs `pip install 'artifactual[dask]'`); the numbers do not depend on it")
    p.add_argument("--scheduler", default=None, metavar="tcp://HOST:PORT",
                   help="Dask scheduler address for --engine dask (default: a local cluster on this machine)")


def _add_dataset(p: argparse.ArgumentParser) -> None:
    p.add_argument("--dataset", required=True, choices=DATASETS.names())
    p.add_argument("--data-root", default=None, help=DATA_HELP)
    p.add_argument("--manifest", default=None, help="CSV with path,label,source[,identity,...] (dataset 'manifest')")
    _add_common(p)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="artifactual",
        description="Rebuild face-'trait' classifiers on public faces and audit what they learn. "
                    "Never predicts anything about a real person.")
    sub = parser.add_subparsers(dest="command", required=True)

    data = sub.add_parser("data", help="datasets: list, summarize, fetch")
    dsub = data.add_subparsers(dest="data_command", required=True)
    dsub.add_parser("list", help="registered datasets and where to get them")
    s = dsub.add_parser("summarize", help="counts per source x label x subgroup, identities, files, skips")
    _add_dataset(s)
    s.add_argument("--json", default=None, help="also write the summary as JSON to this file")
    f = dsub.add_parser("fetch", help="download a dataset with a library's own fetcher (needs internet)")
    f.add_argument("name", choices=["lfw"])
    f.add_argument("--to", required=True, help="target folder, e.g. DATA_ROOT/lfw")

    pp = sub.add_parser("preprocess", help="run seed 000 §4.1 preprocessing; report detection rates by source")
    _add_dataset(pp)
    pp.add_argument("--set", action="append", metavar="KEY=VALUE",
                    help="override a preprocessing setting (e.g. size=64, detect_face=false)")
    pp.add_argument("--json", default=None, help="also write the report as JSON to this file")

    a = sub.add_parser("audit", help="the source-confound audit on your own labelled images")
    a.add_argument("--manifest", required=True, help="CSV with a path column plus label and source columns")
    a.add_argument("--root", default=None, metavar="DIR",
                   help="folder the manifest's paths are relative to, and must stay inside (default: the CSV's folder)")
    a.add_argument("--label", required=True, help="label column (exactly two classes)")
    a.add_argument("--source", required=True, help="column naming where each photo came from")
    a.add_argument("--identity", default=None, help="column naming the person (splits keep a person on one side)")
    a.add_argument("--positive", default=None, help="label value treated as class 1 (default: the larger)")
    a.add_argument("--out", required=True, help="output folder (summary.json, summary.md, skipped.csv, figures/)")
    a.add_argument("--replace", action="store_true",
                   help="let --out hold this audit although it holds another manifest's (its summary is replaced; "
                        "its run folders under runs/ are kept)")
    a.add_argument("--models", nargs="+", default=None, choices=MODELS.names(),
                   help="headline models (default: pixel_logreg knabenhans_cnn)")
    a.add_argument("--set", action="append", metavar="KEY=VALUE",
                   help="KEY=VALUE: a preprocessing setting (default: seed 000's pipeline at size=64); audit.KEY=VALUE "
                        "or headline.KEY=VALUE: a setting of the battery or the headline models (e.g. audit.n_boot=200)")
    _add_engine(a)
    _add_common(a)

    rep = sub.add_parser("replicate", help="rebuild a published system on public faces and audit it")
    rep.add_argument("name", choices=STUDIES.names())
    rep.add_argument("--data-root", default=None, help=DATA_HELP)
    rep.add_argument("--embedded", action="store_true", help="use the embedded default instead of real data")
    rep.add_argument("--per-class", type=int, default=0,
                     help="subsample each class to about N images (0 = all); refused by a study without that setting")
    rep.add_argument("--set", action="append", metavar="KEY=VALUE",
                     help="override a field of the study's config (dotted for nested ones, e.g. audit.n_boot=200, "
                          "variants=[]); unknown keys and wrong types are errors")
    rep.add_argument("--out", default=None, help="output folder (default: results/<name>)")
    _add_engine(rep)
    _add_common(rep)

    gal = sub.add_parser("gallery", help="seed 001's watch-list database, built only from a dataset's own public faces")
    gsub = gal.add_subparsers(dest="gallery_command", required=True)
    for name, helptext in (("enrol", "enrol the first photograph of each person of a dataset into a new SQLite gallery"),
                           ("search", "search a dataset person's other photographs against a gallery of that dataset")):
        g = gsub.add_parser(name, help=helptext)
        g.add_argument("--db", required=True, help="the gallery file (SQLite)")
        g.add_argument("--dataset", required=True, choices=["lfw", "orl"], help="the dataset the gallery is built from")
        g.add_argument("--data-root", default=None, help=DATA_HELP)
        _add_common(g)
    gsub.choices["enrol"].add_argument("--pipeline", default="dlib", choices=["dlib", "lbp", "lbp_binarised"])
    gsub.choices["enrol"].add_argument("--people", type=int, default=0,
                                       help="enrol the first N people of the dataset (0 = all)")
    gsub.choices["search"].add_argument("--person", required=True,
                                        help="a person of the dataset (e.g. an LFW name); never a user's photograph")
    gsub.choices["search"].add_argument("--k", type=int, default=5, help="candidates to list (default 5)")

    r = sub.add_parser("run", help="the main job on the embedded default (offline)")
    r.add_argument("--out", default="results", help="results folder (default: results)")
    r.add_argument("--set", action="append", metavar="[STUDY.]KEY=VALUE",
                   help="KEY=VALUE: the main job's preprocessing (e.g. size=24); STUDY.KEY=VALUE: that study's config "
                        "(e.g. goel2022.audit.n_boot=200)")
    r.add_argument("--paper-dir", default=None, help="where the PDF is built (default: paper/build)")
    _add_common(r)
    return parser


def _load(args: argparse.Namespace):
    return load_dataset(args.dataset, data_root=args.data_root, manifest=getattr(args, "manifest", None))


def run(argv: list[str]) -> int:
    """Parse ``argv`` and run the command with ``--workers``/``--no-progress`` as the ambient settings
    (called by :func:`artifactual.app.cli.main`, which turns errors and signals into one line)."""
    args = build_parser().parse_args(argv)
    # --workers and --no-progress hold for everything the command runs (not every command has them)
    with use_settings(workers=getattr(args, "workers", None), progress=not getattr(args, "no_progress", False)):
        return _dispatch(args)


#: errors a user can cause and mend (a file, a column, a setting); anything else is a bug and keeps its traceback
USER_ERRORS = (DatasetError, KeyError, ValueError, TypeError, FileNotFoundError, RuntimeError, GalleryError)


def _check_outputs(args: argparse.Namespace) -> None:
    """Everything the command will write is writable, checked before any image is decoded."""
    from artifactual.replication.cache import CACHE_ENV, cache_root

    if args.command in ("data", "preprocess", "audit", "replicate", "run") and \
            getattr(args, "data_command", None) != "list":
        check_writable(cache_root(), "the cache folder",
                       f"make it writable or point ${CACHE_ENV} at a writable folder")
    out = getattr(args, "out", None)
    if args.command == "replicate" and out is None:
        out = Path("results") / args.name
    if out is not None:
        check_writable(Path(out), "--out")
    for attr in ("json", "to"):
        if getattr(args, attr, None):
            check_writable(Path(getattr(args, attr)).parent if attr == "json" else Path(getattr(args, attr)),
                           f"--{attr}")


def _dispatch(args: argparse.Namespace) -> int:
    _check_outputs(args)
    if args.command == "data" and args.data_command == "list":
        for name in DATASETS.names():
            loader = DATASETS.get(name)
            card = (loader.build.__module__ and sys.modules[loader.build.__module__].__doc__ or "").strip()
            print(f"{name:12s} {card.splitlines()[0] if card else ''}")
            if loader.obtain:
                print(f"{'':12s} {loader.obtain}")
        return 0
    if args.command == "data" and args.data_command == "summarize":
        summary = summarize(_load(args))
        print(format_summary(summary))
        if args.json:
            atomic_write_json(Path(args.json), summary)
        return 0
    if args.command == "data" and args.data_command == "fetch":
        from artifactual.replication.data.lfw import fetch_with_sklearn

        print(f"downloaded into {fetch_with_sklearn(Path(args.to))}")
        return 0
    if args.command == "preprocess":
        cfg = override(Goel2022Preprocess(), parse_assignments(args.set))
        ds = _load(args)
        pp = preprocess_dataset(ds, cfg)
        report = {"dataset": ds.name, "manifest_hash": ds.manifest_hash, "config": cfg.__dict__,
                  "from_cache": pp.from_cache, "kept": int((pp.table["array_row"] >= 0).sum()),
                  "status_counts": pp.table["pp_status"].value_counts().to_dict(),
                  "detection_rates": detection_rates(pp.table, "source")}
        print(json.dumps(report, indent=2, default=str))
        if args.json:
            atomic_write_json(Path(args.json), report)
        return 0
    if args.command == "audit":
        return _audit(args)
    if args.command == "replicate":
        study = STUDIES.get(args.name)
        cfg = study.configure("embedded" if args.embedded else "real", parse_assignments(args.set), args.per_class)
        out = Path(args.out or Path("results") / args.name)
        with use_engine(args.engine, args.scheduler):  # checks --engine/--scheduler before any work
            s = study.execute(cfg, out, _context(args, data_root=args.data_root))
        _report(args.name, s, out)
        return 0
    if args.command == "run":
        return _run(args)
    if args.command == "gallery":
        return _gallery(args)
    raise AssertionError(f"unhandled command {args.command}")  # argparse guarantees a known command


def _context(args: argparse.Namespace, data_root=None) -> RunContext:
    return RunContext(data_root=data_root, workers=args.workers, progress=not args.no_progress)


def _report(kind: str, s: dict, out: Path) -> None:
    """Draw the result's figures (the paper's figure code, from the files just written) and say what was written."""
    try:
        figures = draw(kind, out)
    except FigureError as exc:  # the numbers are written; say why the figures are not, and keep going
        print(f"artifactual: warning: figures not drawn: {exc}", file=sys.stderr)
        figures = {}
    if "verdict" in s:
        _print_audit(s, out)
    else:
        print("\n".join(s.get("readings", [])))
    print(f"wrote {out / 'summary.json'}, {out / 'summary.md'} and {len(figures)} figures")


def _run(args: argparse.Namespace) -> int:
    """The main job on the embedded default, every study with an embedded preset, then the paper."""
    from artifactual.analyses.main_job import MainJobConfig, embedded_preprocess, run_main_job
    from artifactual.paper.build import build

    main_set, study_set = {}, {}
    for key, value in parse_assignments(args.set).items():
        name, dot, rest = key.partition(".")
        if dot and name in STUDIES:
            study_set.setdefault(name, {})[rest] = value
        else:
            main_set[key] = value
    cfg = MainJobConfig(preprocess=override(embedded_preprocess(), main_set))
    configs = {name: STUDIES.get(name).configure("embedded", study_set.get(name)) for name in STUDIES
               if "embedded" in STUDIES.get(name).presets}  # every --set checked before anything runs
    offline_only = sorted(set(study_set) - set(configs))
    if offline_only:
        raise ValueError(f"--set {offline_only[0]}.*: study {offline_only[0]!r} has no embedded version, so "
                         "`artifactual run` skips it")
    results = Path(args.out)
    summary = run_main_job(results, cfg)
    print(format_summary(summary["dataset"]))
    for r in summary["preprocessing"]["detection_rates"]["source"]:
        print(f"  face detection in {r['source']}: {r['n_face']}/{r['n']} = {r['rate']:.2f} "
              f"(95% CI {r['ci_low']:.2f}-{r['ci_high']:.2f})")
    print(f"wrote {results / 'summary.json'} and {results / 'summary.md'}")
    for name, study_cfg in configs.items():
        out = results / name
        _report(name, STUDIES.get(name).execute(study_cfg, out, _context(args)), out)
    paper_dir = Path(args.paper_dir) if args.paper_dir else None
    pdf = build(results_dir=results, **({"out_dir": paper_dir, "figures_dir": paper_dir / "figures"}
                                       if paper_dir else {}))
    print(f"paper: {pdf}")
    return 0


def _audit(args: argparse.Namespace) -> int:
    with use_engine(args.engine, args.scheduler):  # checks --engine/--scheduler, then decoding and units on it
        return _audit_on_engine(args)


def _audit_on_engine(args: argparse.Namespace) -> int:
    from artifactual.analyses.audit import AuditRun, HeadlineConfig, run_audit
    from artifactual.analyses.audit_data import AuditConfig
    from artifactual.replication.data import manifest as manifest_loader

    settings = {"preprocess": {}, "audit": {}, "headline": {}}
    for key, value in parse_assignments(args.set).items():
        part, dot, rest = key.partition(".")
        settings[part if dot and part in ("audit", "headline") else "preprocess"][rest if dot and part in (
            "audit", "headline") else key] = value
    pp = override(Goel2022Preprocess(size=64), settings["preprocess"])  # every setting checked before decoding
    audit_cfg = override(AuditConfig(), settings["audit"])
    headline = override(HeadlineConfig(models=tuple(args.models)) if args.models else HeadlineConfig(),
                        settings["headline"])
    ds = manifest_loader.load(Path(args.manifest), label_col=args.label, source_col=args.source,
                              identity_col=args.identity, root=Path(args.root) if args.root else None)
    out = Path(args.out)
    _refuse_other_manifest(out, ds.manifest_hash, args)
    skipped = ds.table[ds.table["status"] != "ok"]
    if len(skipped):
        print(f"note: {len(skipped)} manifest rows skipped, listed with their reasons in {out / 'skipped.csv'}",
              file=sys.stderr)
    positive = args.positive
    if positive is not None and ds.table["label"].dropna().map(type).eq(str).all():
        positive = str(positive)
    run = AuditRun(name="audit", dataset=ds, label_col="label", preprocess=pp, audit=audit_cfg, positive=positive,
                   headline=headline, data_description=f"user manifest {args.manifest}",
                   extra={"design": {"manifest": str(args.manifest), "root": str(ds.root),
                                     "skipped_rows": int(len(skipped))}})
    _write_skipped(skipped, out)
    _report("audit", run_audit(run, out), out)
    return 0


def _gallery(args: argparse.Namespace) -> int:
    """``gallery enrol`` / ``gallery search``: the watch-list database on a dataset's own public faces only."""
    from artifactual.analyses.shanmugapriyan import full, pipelines
    from artifactual.replication.designs.shanmugapriyan import WATCHLIST_NOTE
    from artifactual.replication.faceid.gallery import Gallery

    ds = _load(args).usable()
    table = ds.table[ds.table["identity"].notna()].sort_values(["identity", "path"], kind="stable")
    db = Path(args.db)
    if args.gallery_command == "enrol":
        if db.exists():  # checked before any template is made
            raise ValueError(f"--db {db} exists; a gallery is never overwritten: choose a new file")
        check_writable(db.parent, "--db's folder")
        first = table.groupby("identity", sort=False).head(1)
        if args.people:
            first = first.head(args.people)
        if first.empty:
            raise ValueError(f"dataset {args.dataset} has no person to enrol")
        pipe = pipelines()[args.pipeline]
        t = pipe.embed([str(ds.root / p) for p in first["path"]], pipe.config)
        names = first["identity"].astype(str).to_numpy()[t.found]
        with Gallery.create(db, pipe.kind, t.vectors.shape[1]) as g:
            g.enrol_many((n, v[None], {"enrolled_from": args.dataset, "pipeline": args.pipeline, "n_images": 1})
                         for n, v in zip(names, t.vectors))
        print(f"enrolled {len(names):,} people of {args.dataset} into {db} ({WATCHLIST_NOTE}); "
              f"{int((~t.found).sum())} photographs without a face found were not enrolled")
        return 0
    with Gallery.open(db, read_only=True) as g:
        rows = table[table["identity"].astype(str) == args.person].iloc[1:]  # the enrolled first photograph left out
        if rows.empty:
            raise ValueError(f"{args.person!r} has no photograph in {args.dataset} beyond the enrolled first one "
                             "(search takes a person of the gallery's own dataset, never a user's photograph)")
        kind = {"dlib128": "dlib", "lbp": "lbp"}[g.kind]
        pipe = pipelines()[kind]
        t = pipe.embed([str(ds.root / p) for p in rows["path"]], pipe.config)
        print(f"{WATCHLIST_NOTE}; {len(g):,} people enrolled")
        for path, ok, reason, v in zip(rows["path"], t.found, t.reasons, full(t, g.dim)):
            if not ok:
                print(f"{path}: no template ({reason})")
                continue
            m = g.search(v, k=args.k)
            cands = ", ".join(f"{n} {sc:.3f}" for n, sc in zip(m.names[0], m.scores[0]))
            print(f"{path}: {cands}")
    return 0


def _refuse_other_manifest(out: Path, manifest_hash: str, args: argparse.Namespace) -> None:
    """``--out`` holding the audit of another manifest is refused (its results would be overwritten and its
    figures mixed with these) unless ``--replace``; then its summary, tables and figures go first."""
    summary = out / "summary.json"
    if not summary.is_file():
        return
    try:
        before = json.loads(summary.read_text(encoding="utf-8"))
        theirs = before["provenance"]["manifest_hash"]
        what = before.get("data", "another run")
    except (OSError, ValueError, KeyError, TypeError):
        theirs, what = None, "a summary.json this audit did not write"
    if theirs == manifest_hash:
        return  # the same images: a rerun or other settings; runs/ keeps each setting's records apart
    if not args.replace:
        raise ValueError(f"--out {out} already holds the audit of {what} (another manifest); choose a new --out, "
                         "or pass --replace to replace its summary (its run folders under runs/ are kept)")
    for name in ("summary.json", "summary.md", "skipped.csv", "mean_images.npz", "properties_by_image.csv"):
        (out / name).unlink(missing_ok=True)
    for png in (out / "figures").glob("*.png") if (out / "figures").is_dir() else []:
        png.unlink()


def _write_skipped(skipped, out: Path) -> None:
    """``skipped.csv``: every manifest row not audited, with its reason (empty when none was skipped)."""
    cols = [c for c in ("path", "source", "identity", "label", "reason") if c in skipped.columns]
    atomic_write_text(out / "skipped.csv", skipped[cols].to_csv(index=False))


def _print_audit(s: dict, out: Path) -> None:
    h = s["headline"]
    print(f"{s['name']}: headline {h['model']} AUROC {h['auroc']:.3f} [{h['auroc_ci'][0]:.3f}, {h['auroc_ci'][1]:.3f}], "
          f"AP {h['average_precision']:.3f}, n {h['n']:,}")
    print(f"verdict: {s['verdict']}")
    for r in s["verdict_reasons"]:
        print(f"  - {r}")
    failed = [c for c in s.get("checks", []) if c.get("status") == "failed"]
    failed += [{"name": f"decomposition {name}", "reading": part.get("reason", "")}
               for name, part in (s.get("decomposition") or {}).get("parts", {}).items()
               if isinstance(part, dict) and part.get("status") == "failed"]
    for c in failed:
        first = " ".join(str(c["reading"]).split())[:300]
        print(f"warning: check {c['name']} failed and is left out of the verdict: {first}", file=sys.stderr)

