"""Engine commands: `score`, `suggest ...`, `assign`, `model ...`, `bench`."""

from __future__ import annotations

import sys

import click

from matcher.cli import _app
from matcher.cli._app import AppContext, collector_paused, emit_json, pass_app
from matcher.console import status, track

__all__ = ["score", "suggest", "assign", "model", "bench", "COMMANDS"]


def _print_items(items: list[dict], title: str) -> None:
    if not items:
        click.echo("no suggestions (run `jetmatch score` after adding alumni)")
    for i, item in enumerate(items, 1):
        who = item.get("alumnus") or item.get("chapter") or ""
        click.echo(f"{i:>2}. {item['score']:6.2f}  {who + '  ' if who else ''}{item['us_place']} ↔ {item['jp_place']}"
                   f"  [relationship {item['relationship_id']}]")
        for reason in item["reasons"]:
            click.echo(f"      {reason['weight']:+.2f}  {reason['sentence']}")


@click.command()
@click.option("--top", "top_k", type=click.IntRange(min=1), default=None, help="Keep K per list (default from the model).")
@click.option("--json", "as_json", is_flag=True)
@pass_app
def score(app: AppContext, top_k: int | None, as_json: bool) -> None:
    """Recompute all suggestions with the active model, with a progress bar."""
    with collector_paused():
        # first, before SQLAlchemy: a helper process loads Numba and scores the pool, on the other
        # core, while this one imports SQLAlchemy and reads the database (see its module); what both
        # need (NumPy, the scoring modules without the kernels) is imported once, before the fork
        from matcher.scoring.kernel_process import KernelProcess, in_process
        from matcher.scoring.suggestions import score_all

        helper = KernelProcess.start() if _app.ONE_SHOT else None
        try:
            from matcher.jobs.runner import job_lock

            app.ensure_schema()
            # the same lock as a worker's re-score job: the two never write suggestions at once
            with job_lock(app.engine, "rescore"), app.session() as session:
                summary = score_all(session, top_k=top_k, progress=lambda it: track(it, "scoring"),
                                    kernel=helper or in_process)
                session.commit()
        finally:
            if helper is not None:
                helper.close()
    if as_json:
        emit_json(summary)
    else:
        click.echo(f"{summary['volunteer_suggestions']} volunteer and {summary['partner_suggestions']} partner "
                   f"suggestions for {summary['alumni']} alumni x {summary['relationships']} relationships "
                   f"(model {summary['model_version']})")


@click.group()
def suggest() -> None:
    """Ranked suggestions with reasons."""


def _run(app: AppContext, fn, key, top: int, as_json: bool) -> None:
    from sqlalchemy import func, select

    from matcher.models import Suggestion
    from matcher.scoring.suggestions import score_all

    app.ensure_schema()
    with app.session() as session:
        if not session.scalar(select(func.count()).select_from(Suggestion)):
            status("no stored suggestions yet: scoring first…")
            score_all(session)
            session.commit()
        try:
            items = fn(session, key, top)
        except LookupError as exc:
            raise click.ClickException(str(exc)) from None
    if as_json:
        emit_json(items)
    else:
        _print_items(items, str(key))


@suggest.command("volunteers")
@click.option("--relationship", "relationship_id", type=int, required=True)
@click.option("--top", type=click.IntRange(min=1), default=10, show_default=True)
@click.option("--json", "as_json", is_flag=True)
@pass_app
def suggest_volunteers(app: AppContext, relationship_id: int, top: int, as_json: bool) -> None:
    """Alumni for one relationship's committee."""
    from matcher.scoring.suggestions import suggest_volunteers as fn

    _run(app, fn, relationship_id, top, as_json)


@suggest.command("partners")
@click.option("--chapter", "slug", required=True)
@click.option("--top", type=click.IntRange(min=1), default=10, show_default=True)
@click.option("--json", "as_json", is_flag=True)
@pass_app
def suggest_partners(app: AppContext, slug: str, top: int, as_json: bool) -> None:
    """Sister-city relationships for a JETAA chapter."""
    from matcher.scoring.suggestions import suggest_partners as fn

    _run(app, fn, slug, top, as_json)


@suggest.command("relationships")
@click.option("--alum", "external_id", required=True, help="The alumnus's external id.")
@click.option("--top", type=click.IntRange(min=1), default=10, show_default=True)
@click.option("--json", "as_json", is_flag=True)
@pass_app
def suggest_relationships(app: AppContext, external_id: str, top: int, as_json: bool) -> None:
    """Relationships for one alumnus."""
    from matcher.scoring.suggestions import suggest_relationships as fn

    _run(app, fn, external_id, top, as_json)


@click.command()
@click.option("--json", "as_json", is_flag=True)
@pass_app
def assign(app: AppContext, as_json: bool) -> None:
    """Propose a capacity-aware assignment of volunteers to relationships."""
    from matcher.scoring.assignment import assign_pool

    app.ensure_schema()
    with app.session() as session:
        result = assign_pool(session)
    if as_json:
        emit_json(result)
        return
    click.echo(f"{len(result['pairs'])} matches, total score {result['total_score']:.1f}; "
               f"coverage {result['coverage']:.1%} of {result['willing']} willing alumni")
    for p in result["pairs"][:50]:
        click.echo(f"  {p['external_id']:>14}  {p['score']:6.2f}  {p['us_place']} ↔ {p['jp_place']}")


@click.group()
def model() -> None:
    """Scoring models: status, train from decisions, use a version."""


@model.command("status")
@click.option("--json", "as_json", is_flag=True)
@pass_app
def model_status(app: AppContext, as_json: bool) -> None:
    """List the stored models and which one is active."""
    from matcher.scoring.learning import model_status as fn

    app.ensure_schema()
    with app.session() as session:
        rows = fn(session)
    if as_json:
        emit_json(rows)
        return
    for r in rows:
        click.echo(f"{'*' if r['active'] else ' '} {r['version']:<28} {r['metrics']}")


@model.command("train")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--json", "as_json", is_flag=True)
@pass_app
def model_train(app: AppContext, seed: int, as_json: bool) -> None:
    """Learn weights from decisions; the new model is used only if it ranks held-out decisions better."""
    from matcher.scoring.learning import train_from_decisions

    app.ensure_schema()
    with app.session() as session:
        try:
            report = train_from_decisions(session, seed=seed)
        except ValueError as exc:
            raise click.ClickException(str(exc)) from None
        session.commit()
    if as_json:
        emit_json(report)
    else:
        verdict = "adopted" if report["adopted"] else "kept the current model"
        click.echo(f"{report['version']}: {verdict}; held-out NDCG@10 {report['candidate']['ndcg@10']:.3f} vs "
                   f"{report['current']['ndcg@10']:.3f}, precision@10 {report['candidate']['precision@10']:.3f} vs "
                   f"{report['current']['precision@10']:.3f}")


@model.command("use")
@click.argument("version")
@pass_app
def model_use(app: AppContext, version: str) -> None:
    """Make VERSION the active model (run `jetmatch score` afterwards)."""
    from matcher.scoring.learning import use_model

    app.ensure_schema()
    with app.session() as session:
        try:
            use_model(session, version)
        except LookupError as exc:
            raise click.ClickException(str(exc)) from None
        session.commit()
    click.echo(f"active model: {version}")


@click.command()
@click.option("--alumni", "n_alumni", type=click.IntRange(min=1), default=40_000, show_default=True)
@click.option("--relationships", "n_rels", type=click.IntRange(min=1), default=450, show_default=True)
@click.option("--seed", type=int, default=1, show_default=True)
@click.option("--repeat", "repeats", type=click.IntRange(min=1), default=None,
              help="Scoring passes; the median is reported (default: 3 up to 100 million pairs, else 1).")
@click.option("--json", "as_json", is_flag=True)
def bench(n_alumni: int, n_rels: int, seed: int, repeats: int | None, as_json: bool) -> None:
    """Benchmark scoring on synthetic arrays: times and peak memory."""
    from matcher.scoring.bench import run_bench

    result = run_bench(n_alumni, n_rels, seed=seed, repeats=repeats)
    if as_json:
        emit_json(result)
    else:
        for k, v in result.items():
            click.echo(f"{k:>16}: {v}")
    sys.stdout.flush()


COMMANDS = (score, suggest, assign, model, bench)
