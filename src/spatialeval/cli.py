"""Command line: a thin layer over :mod:`spatialeval.pipeline` (parsing and printing only)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from spatialeval.errors import EXIT_INTERRUPTED, EXIT_ITEMS_FAILED, EXIT_OK, EXIT_OS_ERROR, EXIT_USAGE, SpatialEvalError


def _csv_list(value: str) -> list[str]:
    return [v.strip() for v in value.split(",") if v.strip()]


_PARSERS = {"int": int, "float": float, "list": _csv_list, "str": str}


def _renamed_values(parse, key: str):
    """``parse``, then an old value of setting ``key`` read as its new one (``--bat-mode isdrama``), with a note."""
    from spatialeval.names import renamed_value

    def parse_upgraded(raw: str):
        return renamed_value(key, parse(raw), "command line")

    parse_upgraded.__name__ = getattr(parse, "__name__", "value")  # argparse names the type in its errors
    return parse_upgraded


class _RenamedFlag(argparse.Action):
    """Stores the value; an old flag (``--cer-normalizer``) notes its new name once."""

    def __call__(self, parser, namespace, values, option_string=None):
        from spatialeval.names import FLAG_RENAMES, note_renamed

        if option_string in FLAG_RENAMES:
            note_renamed(option_string, FLAG_RENAMES[option_string], "command line")
        setattr(namespace, self.dest, values)


def _add_run(sub) -> None:
    from spatialeval.names import FLAG_RENAMES
    from spatialeval.pipeline.options import run_options

    p = sub.add_parser(
        "run",
        help="evaluate generated audio against ground truth",
        description="Evaluate the generated audio GEN against the ground truth GT (matched by relative path and "
        "stem), or a manifest. "
        "Options below come from the registered stages' settings; any setting can also "
        "be given with --set SECTION.NAME=VALUE (see configs/default.yaml).",
    )
    p.add_argument(
        "gt",
        metavar="GT",
        help="ground-truth directory, or a manifest (CSV/TSV/JSONL: id, gt, gen[, text, prompt]; infer = gen)",
    )
    p.add_argument(
        "gen", metavar="GEN", nargs="?", help="generated-audio directory, e.g. data/infer (omit when GT is a manifest)"
    )
    p.add_argument("--config", help="YAML settings file (see configs/)")
    p.add_argument("--out", help="write DIR/items.jsonl, items.csv, summary.json; rerunning resumes")
    p.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="SECTION.NAME=VALUE",
        dest="assignments",
        help="any setting, e.g. --set ffe.threshold=0.3 (value parsed as YAML; repeatable)",
    )
    p.add_argument("--jobs", type=int, default=1, help="worker processes, each evaluating a shard (needs --out)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    for option in run_options():
        if option.kind == "bool":
            p.add_argument(option.flag, dest=option.dest, action="store_true", default=None, help=option.help)
        else:
            choices = option.choices if option.kind != "list" else None
            metavar = option.metavar or (None if choices else option.path[-1].upper())
            parse = _renamed_values(_PARSERS[option.kind], ".".join(option.path))
            flags = [option.flag, *(old for old, new in FLAG_RENAMES.items() if new == option.flag)]
            for flag in flags:  # an old flag still works, hidden from --help
                p.add_argument(
                    flag,
                    action=_RenamedFlag,
                    dest=option.dest,
                    type=parse,
                    help=option.help if flag == option.flag else argparse.SUPPRESS,
                    choices=choices,
                    metavar=metavar,
                )
    p.set_defaults(handler=_cmd_run)


def _run_config(args):
    from spatialeval.pipeline.config import load_config, parse_assignment
    from spatialeval.pipeline.options import merge_nested, overrides, run_options

    values = overrides(vars(args), run_options())
    for assignment in args.assignments:
        merge_nested(values, parse_assignment(assignment))
    return load_config(args.config, values)


def _cmd_run(args) -> int:
    from tqdm import tqdm

    from spatialeval.pipeline.display import format_report
    from spatialeval.pipeline.evaluate import evaluate

    config = _run_config(args)
    bar = tqdm(unit="pair", desc="evaluating", file=sys.stderr, disable=args.quiet)

    def advance(n: int, total: int) -> None:
        bar.total = total
        bar.update(n)

    if args.jobs > 1:
        if not args.out or config.shard:
            raise ValueError("--jobs needs --out (shard outputs go to OUT/shards) and cannot be combined with --shard")
        bar.close()
        from spatialeval.pipeline.distributed import evaluate_parallel

        summary = evaluate_parallel(args.gt, args.gen, config, args.out, args.jobs)
    else:
        try:
            summary = evaluate(args.gt, args.gen, config, out_dir=args.out, progress=advance).summary
        finally:
            bar.close()
    print(format_report(summary))
    if args.out:
        print(f"wrote {Path(args.out) / 'items.jsonl'}, items.csv, summary.json")
    return EXIT_ITEMS_FAILED if summary["n_failed"] else EXIT_OK


def _add_metrics(sub) -> None:
    p = sub.add_parser("metrics", help="list every metric: direction, unit, stage, backend, what it needs")
    p.add_argument("--protocol", default="isdrama", help="show units and scales under this protocol")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.add_argument(
        "--degenerate",
        action="store_true",
        help="each metric's documented outcome on silent, DC, noise-only, clipped, short and gapped generations",
    )
    p.set_defaults(handler=_cmd_metrics)


def _cmd_metrics(args) -> int:
    from spatialeval.pipeline.display import format_degenerate_table, format_metric_list

    print(format_degenerate_table() if args.degenerate else format_metric_list(args.protocol, as_json=args.json))
    return EXIT_OK


def _add_compare_sets(sub) -> None:
    p = sub.add_parser(
        "compare-sets",
        help="set-level spatial distances of two unpaired folders (FD of BAT "
        "embeddings, KL/W1 of ITD histograms, bootstrap intervals)",
    )
    p.add_argument("generated", help="folder of generated binaural clips")
    p.add_argument("reference", help="folder of reference binaural clips (any number, no pairing)")
    p.add_argument("--config", help="YAML settings file (bat.* settings choose the encoder windows)")
    p.add_argument(
        "--ckpt",
        help="BAT finetuned.pth for the Fréchet distances (else skipped); when given and they "
        "cannot be computed (fewer than 2 embeddings per set) the rest is printed and "
        "the exit code is 2",
    )
    p.add_argument("--covariance", choices=["sample", "shrinkage", "diagonal"], default="shrinkage")
    p.add_argument("--resamples", type=int, default=None, help="bootstrap resamples (default 100 FD, 1000 ITD)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", help="write the full result as JSON to this file")
    p.set_defaults(handler=_cmd_compare_sets)


def _cmd_compare_sets(args) -> int:
    import json

    from spatialeval.io.files import atomic_write_text
    from spatialeval.pipeline.compare_sets import (
        FD_DISTANCES,
        ITD_DISTANCES,
        SetOptions,
        compare_sets,
        format_comparison,
    )
    from spatialeval.pipeline.config import load_config
    from spatialeval.pipeline.results import clean

    config = load_config(args.config, {"bat": {"checkpoint": args.ckpt}} if args.ckpt else None)
    options = SetOptions(covariance=args.covariance, seed=args.seed)
    if args.resamples is not None:
        options.n_resamples_fd = options.n_resamples_itd = args.resamples
    summary = compare_sets(args.generated, args.reference, config, options)
    print(format_comparison(summary))
    if args.out:
        atomic_write_text(args.out, json.dumps(clean(summary), indent=2, ensure_ascii=False) + "\n")
        print(f"wrote {args.out}")
    # Exit 2 after printing and writing what could be computed, when a distance the user asked for
    # explicitly (the Fréchet distances, by --ckpt) or every distance cannot be computed.
    missing = summary["not_computable"]
    named = [name for name in FD_DISTANCES if args.ckpt and name in missing]
    computed = [name for name in (*ITD_DISTANCES, *FD_DISTANCES) if name in summary and name not in missing]
    if named or not computed:
        names = named or list(missing)
        print(f"error: {', '.join(names)} not computable: {missing[names[0]]}", file=sys.stderr)
        return EXIT_USAGE
    return EXIT_OK


def _add_config(sub) -> None:
    p = sub.add_parser("config", help="print every setting with its default and help, as YAML")
    p.set_defaults(handler=_cmd_config)


def _cmd_config(args) -> int:
    from spatialeval.pipeline.config import default_config_yaml

    print(default_config_yaml(), end="")
    return EXIT_OK


def _add_merge(sub) -> None:
    p = sub.add_parser("merge", help="combine shard outputs into one result")
    p.add_argument("shards", nargs="+", help="output directories of the shard runs")
    p.add_argument("--out", required=True, help="directory for the merged items and summary")
    p.set_defaults(handler=_cmd_merge)


def _cmd_merge(args) -> int:
    from spatialeval.pipeline.display import format_report
    from spatialeval.pipeline.merge import merge_results

    summary = merge_results(args.shards, args.out)
    print(format_report(summary))
    return EXIT_ITEMS_FAILED if summary["n_failed"] else EXIT_OK


def _add_check(sub) -> None:
    p = sub.add_parser("check", help="regression gate: compare results with a baseline summary")
    p.add_argument("results", help="results directory or its summary.json")
    p.add_argument("--baseline", required=True, help="baseline summary.json (or a JSON/YAML metric → value map)")
    p.add_argument("--tol", action="append", default=[], metavar="METRIC=ABS", help="absolute tolerance")
    p.add_argument("--rel-tol", action="append", default=[], metavar="METRIC=REL", help="relative tolerance")
    p.add_argument("--tolerances", help="YAML file of per-metric tolerances (see configs/tolerances.yaml)")
    p.add_argument(
        "--allow-settings-change",
        action="store_true",
        help="compare runs made under different settings or models (else exit 2 naming them)",
    )
    p.add_argument(
        "--allow-fewer-items", action="store_true", help="pass although fewer items were evaluated than in the baseline"
    )
    p.set_defaults(
        handler=lambda a: __import__("spatialeval.check", fromlist=["run_check"]).run_check(
            a.results,
            a.baseline,
            tol=a.tol,
            rel_tol=a.rel_tol,
            tolerances_yaml=a.tolerances,
            allow_settings_change=a.allow_settings_change,
            allow_fewer_items=a.allow_fewer_items,
        )
    )


def _add_report(sub) -> None:
    p = sub.add_parser("report", help="Markdown + HTML report with plots from a results directory")
    p.add_argument("results", help="results directory written by 'spatialeval run --out'")
    p.add_argument("--out", help="report directory (default: RESULTS/report)")
    p.add_argument("--items", type=_csv_list, help="comma list of item ids to draw IPD/ILD error maps for")
    p.set_defaults(
        handler=lambda a: __import__("spatialeval.report", fromlist=["run_report"]).run_report(
            a.results, a.out, a.items
        )
    )


def _add_example(sub) -> None:
    p = sub.add_parser("example", help="write example gt/gen binaural speech pairs (offline)")
    p.add_argument("out", help="directory to create (gt/ with .txt transcripts, gen/)")
    p.add_argument("--pairs", type=int, default=6)
    p.add_argument("--seed", type=int, default=0, help="chooses the directions")
    p.set_defaults(handler=_cmd_example)


def _cmd_example(args) -> int:
    from spatialeval.example import write_example_pairs

    written = write_example_pairs(args.out, n_pairs=args.pairs, seed=args.seed)
    print(f"wrote {len(written)} pairs under {args.out}/gt and {args.out}/gen")
    return EXIT_OK


def _add_validate(sub) -> None:
    p = sub.add_parser(
        "validate",
        help="metric sanity harness: how each metric responds to a known change of "
        "direction, distance and room (rendered from the shipped speech)",
    )
    p.add_argument("--hrir", metavar="FILE", help="SOFA HRIR file to render with (default: the shipped MIT KEMAR)")
    p.add_argument(
        "--head",
        default="kemar",
        choices=["kemar", "sphere", "brown-duda", "brown-duda-pinna"],
        help="head model when no --hrir is given",
    )
    p.add_argument(
        "--metrics",
        type=_csv_list,
        metavar="METRIC,...",
        help="metrics to validate (default: every metric that can run here, except cer/wer)",
    )
    p.add_argument("--ckpt", help="BAT checkpoint: the checkpoint metrics join")
    p.add_argument("--out", help="write validate.html/.md, one PNG per metric, table.csv, values.csv, validation.json")
    p.add_argument("--quick", action="store_true", help="the reduced sweep (20 pairs) used in CI")
    p.set_defaults(handler=_cmd_validate)


def _cmd_validate(args) -> int:
    from spatialeval.pipeline.validate import SweepPlan, format_table, validate

    if args.hrir and args.head != "kemar":
        raise ValueError("give either --hrir or --head, not both")
    plan = SweepPlan.quick() if args.quick else SweepPlan()
    result = validate(args.metrics, head=args.head, hrir_file=args.hrir, checkpoint=args.ckpt, plan=plan)
    print(format_table(result))
    if args.out:
        from spatialeval.report.validate import write_validation

        write_validation(result, args.out)
        print(f"wrote {Path(args.out) / 'validate.html'}, validate.md, {len(result.table)} PNG plots, table.csv")
    return EXIT_OK


def _add_test_checkpoint(sub) -> None:
    p = sub.add_parser(
        "make-test-checkpoint", help="write a stand-in BAT checkpoint (random weights, real keys) for tests and demos"
    )
    p.add_argument("out")
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(handler=_cmd_test_checkpoint)


def _cmd_test_checkpoint(args) -> int:
    from spatialeval.models.standins.bat import write_test_checkpoint

    path = write_test_checkpoint(args.out, args.seed)
    print(f"wrote {path} (seed {args.seed}; NOT trained weights: for testing only)")
    return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    from spatialeval._version import __version__

    parser = argparse.ArgumentParser(
        prog="spatialeval", description="Evaluate generated binaural speech (ISDrama metrics and more)."
    )
    parser.add_argument("--version", action="version", version=f"spatialeval {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    for add in (
        _add_run,
        _add_metrics,
        _add_config,
        _add_compare_sets,
        _add_merge,
        _add_check,
        _add_report,
        _add_example,
        _add_validate,
        _add_test_checkpoint,
    ):
        add(sub)
    return parser


def _one_line(exc: BaseException) -> str:
    return str(exc).strip() or type(exc).__name__


def main(argv: list[str] | None = None) -> int:
    """Run the command line; the exit codes are listed in :mod:`spatialeval.errors` and docs/reliability.md."""
    args = build_parser().parse_args(argv)
    try:
        return args.handler(args)
    except KeyboardInterrupt:
        print("spatialeval: interrupted; rerun the same command to resume", file=sys.stderr)
        return EXIT_INTERRUPTED
    except SpatialEvalError as exc:
        print(f"spatialeval: error: {_one_line(exc)}", file=sys.stderr)
        return exc.exit_code
    except (ValueError, FileNotFoundError, RuntimeError) as exc:
        print(f"spatialeval: error: {_one_line(exc)}", file=sys.stderr)
        return EXIT_USAGE
    except OSError as exc:  # disk full, permission denied, not a directory, ...
        where = f" ({exc.filename})" if getattr(exc, "filename", None) else ""
        print(
            f"spatialeval: error: {exc.strerror or exc}{where}; what was written so far is kept and a rerun "
            "of the same command resumes",
            file=sys.stderr,
        )
        return EXIT_OS_ERROR


if __name__ == "__main__":
    sys.exit(main())
