"""`jetmatch partnerships …`: train, suggest, score and evaluate new US–Japan partnerships."""

from __future__ import annotations

import csv
import functools
import sys
from pathlib import Path

import click

from matcher.cli._app import emit_json, lazy_module, pass_app
from matcher.console import status


__all__ = ["partnerships"]

pt = lazy_module("matcher.partnerships")  # scikit-learn and networkx: loaded when a command runs


@click.group("partnerships")
def partnerships() -> None:
    """Likely new sister-city partnerships, learned from the existing ones."""


def _us_node(app, universe: pt.Universe, query: str) -> int:
    res = app.gazetteer().resolve(query, country="US")
    key = _us_key(res)
    if key is None or key not in universe.us_index:
        raise click.ClickException(f"{query!r}: {_why(res, 'US place or state')}")
    return universe.us_index[key]


def _jp_node(app, universe: pt.Universe, query: str) -> int:
    res = app.gazetteer().resolve(query, country="JP")
    key = _jp_key(res)
    if key is None or key not in universe.jp_index:
        raise click.ClickException(f"{query!r}: {_why(res, 'Japanese municipality or prefecture')}")
    return universe.jp_index[key]


def _why(res, what: str) -> str:
    if res.status == "ambiguous":
        return f"ambiguous {what}: " + "; ".join(c.label or c.name or "?" for c in res.candidates[:5])
    if res.status == "unknown":
        return f"unknown {what}"
    return f"not a {what} in the reference data"


def _us_key(res) -> str | None:
    if res.status != "resolved":
        return None
    if res.kind == "state":
        return f"state:{res.state or res.code}"
    return f"place:{res.place_id}" if res.place_id is not None else None


def _jp_key(res) -> str | None:
    if res.status != "resolved":
        return None
    if res.kind == "prefecture":
        return f"pref:{res.prefecture_code or res.code}"
    return f"muni:{res.code}"


def _reasons_line(row: dict, n: int = 3) -> str:
    """The ``n`` strongest reasons for the pair, strongest first."""
    best = sorted((r for r in row["reasons"][1:] if r["contribution"] > 0), key=lambda r: -r["contribution"])[:n]
    return "; ".join(f"{r['sentence']} ({r['relative'] + ': ' if r['relative'] else ''}{r['contribution']:+.2f})"
                     for r in best)


def _chance(row: dict) -> str:
    p = row.get("probability")
    return "   —  " if p is None else (f"{100 * p:5.1f}%" if p >= 0.001 else " <0.1%")


def _model(session, graph: pt.TieGraph) -> pt.PartnershipModel:
    """The stored model; without one, fit now and say so on stderr."""
    model, version = pt.model_for(session, graph)
    if version is None:
        click.echo("no stored partnerships model: fitting one now (a few seconds); "
                   "`jetmatch partnerships train` stores one", err=True)
    return model


@partnerships.command()
@click.option("--seed", type=int, default=0, show_default=True, help="Seed for the sampled non-pairs.")
@click.option("--json", "as_json", is_flag=True, help="Print the stored row's version and metrics as JSON.")
@pass_app
def train(app, seed: int, as_json: bool) -> None:
    """Fit on every known pair and store the model, so that suggest, score and the page start fast."""
    app.ensure_schema()
    status("training on the existing partnerships…")
    with app.session() as session:
        row = pt.train(session, seed=seed)
        session.commit()
        result = {"version": row.version, **{k: v for k, v in row.metrics.items() if k != "fingerprint"}}
        from matcher.cached import prepare_scoring_inputs

        prepare_scoring_inputs(session)  # `partnerships score` then starts from the cache file
    if as_json:
        emit_json(result)
        return
    click.echo(f"stored {result['version']}: trained on {result['pairs']} pairs "
               f"({result['examples']} examples, {result['positives']} positive); "
               f"{result.get('suggestions', 0)} suggestions stored for the page")


@partnerships.command()
@click.option("--us", "us_query", metavar="PLACE", help="Best Japanese partners for this US place or state.")
@click.option("--jp", "jp_query", metavar="PLACE", help="Best US partners for this municipality or prefecture.")
@click.option("--seekers", is_flag=True, help="US candidates for each municipality on CLAIR's seeking list.")
@click.option("--top", type=click.IntRange(min=1), default=10, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list.")
@pass_app
def suggest(app, us_query: str | None, jp_query: str | None, seekers: bool, top: int,
            as_json: bool) -> None:
    """Pairs that are not partners yet, likeliest first, with the reasons for each."""
    if sum(map(bool, (us_query, jp_query, seekers))) > 1:
        raise click.UsageError("give at most one of --us, --jp and --seekers")
    app.ensure_schema()
    with app.session() as session:
        if seekers:
            status("ranking US candidates for each seeker…")
            if pt.stored_model(session) is None:
                click.echo("no stored partnerships model: fitting one now (a few seconds); "
                           "`jetmatch partnerships train` stores one", err=True)
            rows = pt.seeker_suggestions(session, top=top)
            if as_json:
                emit_json(rows)
                return
            for seeker in rows:
                click.echo(f"{seeker['jp_label']} (wants: {seeker['desired_countries'] or 'any'})")
                if seeker.get("skipped"):
                    click.echo(f"  skipped: {seeker['skipped']}")
                for row in seeker["candidates"]:
                    click.echo(f"  {_chance(row)} ({row['score']:+6.2f})  {row['us_label']}  — {_reasons_line(row)}")
            return
        graph = pt.load_graph(session)
        model = _model(session, graph)
        us = _us_node(app, graph.universe, us_query) if us_query else None
        jp = _jp_node(app, graph.universe, jp_query) if jp_query else None
        rows = []
        for a, b, _ in pt.top_new_pairs(graph, model, top=top, us=us, jp=jp):
            row = pt.describe_pair(graph, model, a, b)
            row["champions"] = pt.champions(session, graph, a, b)
            rows.append(row)
    if as_json:
        emit_json(rows)
        return
    for i, row in enumerate(rows, 1):
        click.echo(f"{i:3d}. {_chance(row)} (score {row['score']:+6.2f})  {row['us_label']} ↔ {row['jp_label']}")
        click.echo(f"       {_reasons_line(row)}")
        if row["champions"]:
            click.echo("       could champion it: " + ", ".join(c["name"] for c in row["champions"]))


@partnerships.command()
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list in input order.")
@pass_app
def score(app, file: Path, as_json: bool) -> None:
    """Score each pair in FILE (CSV with columns us_place,jp_place); existing pairs are flagged."""
    from matcher.cached import stored_scoring_inputs
    from matcher.instance import database_url, instance_path

    # On SQLite with a current cache file: the model row and the file's fingerprint read with sqlite3,
    # so that scoring loads neither SQLAlchemy nor the models (the file stands for the schema check).
    found = stored_scoring_inputs(database_url(app.url), instance_path() / "cache")
    if found is None:
        app.ensure_schema()
    with open(file, newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        missing = {"us_place", "jp_place"} - set(reader.fieldnames or ())
        if missing:
            raise click.ClickException(f"{file}: missing column(s) {', '.join(sorted(missing))}")
        rows = list(reader)
    if found is not None:
        model, graph, existing = found
    else:
        with app.session() as session:
            graph, model, existing = _scoring(app, session)
    out = _score_rows(app, graph, model, rows, existing)
    if as_json:
        emit_json(out)
        return
    for r in out:
        if r["score"] is None:
            click.echo(f"   —    {r['us_place']} ↔ {r['jp_place']}: {r['error']}")
        else:
            flag = "  [existing]" if r["existing"] else ""
            click.echo(f"{_chance(r)} ({r['score']:+6.2f})  {r['us_label']} ↔ {r['jp_label']}{flag} — "
                       f"{_reasons_line(r)}")


def _scoring(app, session):
    """The graph, the model and the existing pairs' features: with a stored model, from the cache file."""
    from matcher.cached import scoring_inputs
    from matcher.instance import instance_path
    from matcher.partnerships.load import uses_alumni

    found = pt.stored_model(session)
    if found is None:
        graph = pt.load_graph(session)
        return graph, _model(session, graph), None
    model = found[0]
    graph, existing = scoring_inputs(session, instance_path() / "cache", alumni=uses_alumni(model.names_))
    return graph, model, existing


def _score_rows(app, graph: pt.TieGraph, model: pt.PartnershipModel, rows: list[dict],
                existing: dict | None) -> list[dict]:
    """Score the rows in order; the new pairs' features in one pass, the existing pairs' from ``existing``."""
    import numpy as np

    us_node = functools.cache(functools.partial(_us_node, app, graph.universe))
    jp_node = functools.cache(functools.partial(_jp_node, app, graph.universe))
    out, pairs = [], []
    for row in rows:
        us_q, jp_q = (row.get("us_place") or "").strip(), (row.get("jp_place") or "").strip()
        out.append({"us_place": us_q, "jp_place": jp_q})
        try:
            pairs.append((len(out) - 1, us_node(us_q), jp_node(jp_q)))
        except click.ClickException as exc:
            out[-1] |= {"score": None, "existing": None, "reasons": [], "error": exc.message}
    new = [(i, us, jp) for i, us, jp in pairs if (us, jp) not in graph.pair_set]
    if new:
        raw = pt.pair_features(graph, np.array([us for _, us, _ in new]), np.array([jp for _, _, jp in new]))
        new = [(i, us, jp, raw[k:k + 1]) for k, (i, us, jp) in enumerate(new)]
    known = [(i, us, jp, existing[(us, jp)]) for i, us, jp in pairs if existing and (us, jp) in existing]
    given = new + known
    if given:  # standardised once: element by element, the same numbers as pair by pair
        z = model.standardised(np.vstack([raw for *_, raw in given]))
        for k, (i, us, jp, raw) in enumerate(given):
            row = np.ascontiguousarray(z[k:k + 1])  # laid out as a lone row is, so the sum runs the same way
            out[i] |= pt.describe_pair(graph, model, us, jp, raw=raw, z=row)
    for i, us, jp in pairs:
        if "score" not in out[i]:  # an existing pair with no cache file: its features on the graph without it
            out[i] |= pt.describe_pair(graph, model, us, jp)
    return out


@partnerships.command()
@click.option("--seeds", type=click.IntRange(min=1), default=5, show_default=True)
@click.option("--seed-start", type=click.IntRange(min=0), default=0, show_default=True,
              help="First seed: --seed-start 100 --seeds 10 checks other splits than the usual 0..4.")
@click.option("--holdout", type=click.FloatRange(0.05, 0.5), default=0.2, show_default=True)
@click.option("--ablation", is_flag=True, help="Also refit without each signal group the model uses, and with each it leaves out (slower).")
@click.option("--json", "as_json", is_flag=True, help="Print summary and per-seed results as JSON.")
@pass_app
def evaluate(app, seeds: int, seed_start: int, holdout: float, ablation: bool, as_json: bool) -> None:
    """Hide a share of the known pairs per seed, train on the rest, and rank each hidden pair's
    partner among every candidate at its level, against baselines; calibration and ablation."""
    app.ensure_schema()
    with app.session() as session:
        graph = pt.load_graph(session)
    if len(graph.us) < 20:
        raise click.ClickException(f"only {len(graph.us)} relationships in the database: nothing to learn from")
    status(f"evaluating on {len(graph.us)} pairs, {seeds} seeds…")
    result = pt.evaluate(graph, seeds=seeds, holdout=holdout, ablation=ablation, seed_start=seed_start)
    if as_json:
        emit_json(result)
        return
    click.echo(format_table(result))


def format_table(result: dict) -> str:
    """The evaluation as fixed-width tables: mean ± sd over the seeds, per level; the
    reliability of the calibrated figure; the ablation when it was run."""
    lines = [f"{result['pairs']} known pairs; {result['holdout']:.0%} hidden per seed; {result['seeds']} seeds; "
             "mean ± sd; each hidden partner ranked among every candidate at its level"]
    for level, table in result["by_level"].items():
        lines += ["", f"{level} level" + (" (summary)" if level == result.get("summary_level") else ""),
                  f"{'method':<20}" + "".join(f"{m:>18}" for m in pt.METRICS)]
        for method in pt.METHODS:
            lines.append(f"{method:<20}" + "".join(_cell(table[method][m], m) for m in pt.METRICS))
    beats = result["model_beats_every_baseline_every_seed"]
    lines.append("model beats every baseline on every seed (summary level): "
                 + ", ".join(f"{k} {'yes' if v else 'no'}" for k, v in beats.items()))
    cal = result["calibration"]
    lines += ["", f"calibration over every candidate of the hidden lists: ECE {cal['ece']['mean']:.4f} ± "
              f"{cal['ece']['sd']:.4f} (top 50 of each list: {cal['ece_top50']['mean']:.4f})",
              f"{'figure':<16}{'pairs':>10}{'partners':>10}{'mean figure':>14}{'observed':>12}"]
    for row in cal["table"]:
        if row["n"]:
            lines.append(f"{row['lo']:.3f}–{row['hi']:<10.3f}{row['n']:>10}{row['positives']:>10}"
                         f"{row['mean_predicted']:>14.4f}{row['observed']:>12.4f}")
    if "ablation" in result:
        lines += ["", "ablation (municipality level): inner = cross-fitted on the training lists, test = hidden",
                  f"{'model':<24}{'inner hits@50':>18}{'inner mrr':>18}{'test hits@50':>18}{'test mrr':>18}"]
        for name, row in result["ablation"].items():
            lines.append(f"{name:<24}" + "".join(_cell(row[part][m], m) for part in ("inner", "test")
                                                 for m in ("hits@50", "mrr")))
    return "\n".join(lines)


def _cell(v: dict, metric: str) -> str:
    if metric == "median_rank":
        return f"{v['mean']:>11.1f} ± {v['sd']:<4.0f}"
    return f"{v['mean']:>11.3f} ± {v['sd']:.3f}"[-18:].rjust(18)


if __name__ == "__main__":  # pragma: no cover
    sys.exit("run as `jetmatch partnerships`")
