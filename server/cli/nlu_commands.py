"""``switchboard nlu train | parse | evaluate``: the bot designer's tools over a Rasa project.

Every command takes ``--project DIR`` (default: the shipped ``nlu/rasa_project``), so any
Rasa 3 project trains, parses and evaluates unchanged.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from nlu.project import SHIPPED_PROJECT, ProjectError, fingerprint

if TYPE_CHECKING:
    from rich.console import Console

    from nlu.embedded import Model
    from nlu.evaluation import Report

nlu_cli = typer.Typer(help="Train, try and evaluate the bot's NLU.", no_args_is_help=True)

# The shipped project (server.settings.DEFAULT_NLU_PROJECT too), named here without importing
# the settings: `nlu parse` needs none of them.
DEFAULT_NLU_PROJECT = SHIPPED_PROJECT

DEFAULT_RASA_BIN = Path(".cache/rasa-venv/bin/rasa")
DEFAULT_RASA_OUT = Path(".cache/rasa-models")
DEFAULT_CACHE = Path("var/nlu")
TRAIN_STEPS = ("entities", "intents", "scope", "dialogue", "languages")

ProjectOption = Annotated[
    Path, typer.Option("--project", help="The Rasa 3 project folder.", show_default=False)
]
CacheOption = Annotated[Path, typer.Option(help="Where trained embedded models are cached.")]


@functools.cache
def _console() -> Console:
    """Progress goes to standard error, so standard output stays JSON."""
    from rich.console import Console

    return Console(stderr=True)


def _fail(message: str) -> typer.Exit:
    typer.secho(f"error: {message}", err=True, fg="red")
    return typer.Exit(2)


def rasa_model_path(project: Path, out: Path) -> Path:
    """Where the Rasa model for the project's current files lives (or will)."""
    return out / f"{fingerprint(project)[:24]}.tar.gz"


def _embedded(project: Path, cache: Path, *, show: bool) -> Model:
    """The cached model for the project's files, or one trained now; with ``show``, a
    progress bar on standard error while it trains (loading a cached one takes well under a
    second and shows nothing)."""
    from contextlib import ExitStack

    from nlu.embedded import load_or_train

    with ExitStack() as stack:
        bar: list[Callable[[str], None]] = []

        def step(name: str) -> None:
            if not bar:
                bar.append(stack.enter_context(_training_bar()))
            bar[0](name)

        try:
            return load_or_train(project, cache, step if show else None)
        except ProjectError as error:
            raise _fail(str(error)) from None


@contextlib.contextmanager
def _training_bar() -> Iterator[Callable[[str], None]]:
    from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    with Progress(
        SpinnerColumn(),
        TextColumn("embedded engine: {task.description}"),
        BarColumn(),
        TimeElapsedColumn(),
        console=_console(),
    ) as progress:
        task = progress.add_task("training", total=len(TRAIN_STEPS))

        def step(name: str) -> None:
            progress.update(task, description=name, completed=TRAIN_STEPS.index(name))

        yield step
        progress.update(task, description="done", completed=len(TRAIN_STEPS))


@nlu_cli.command()
def train(
    project: ProjectOption = DEFAULT_NLU_PROJECT,
    cache: CacheOption = DEFAULT_CACHE,
    rasa_bin: Annotated[
        Path | None,
        typer.Option(help="Rasa's executable; the Rasa model is trained when it exists."),
    ] = None,
    rasa_out: Annotated[Path, typer.Option(help="Where Rasa models are kept.")] = (
        DEFAULT_RASA_OUT
    ),
    rasa: Annotated[bool, typer.Option(help="Also train the Rasa model.")] = True,
) -> None:
    """Train the embedded engine and, when Rasa is installed, a Rasa model, from the same
    files. Each is retrained only when the files changed."""
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    started = time.perf_counter()
    model = _embedded(project, cache, show=True)
    typer.echo(
        f"embedded: {len(model.project.examples)} examples, {len(model.project.intents)}"
        f" intents, languages {', '.join(sorted(model.languages))}"
        f" ({time.perf_counter() - started:.1f} s)"
    )
    for note in model.project.unsupported:
        # Named, never silent: what the project asks for that the embedded engine does not do.
        typer.secho(f"unsupported: {note}", err=True, fg="yellow")
    executable = rasa_bin or DEFAULT_RASA_BIN
    if not rasa:
        return
    if not executable.exists():
        typer.echo(f"rasa: skipped ({executable} not found; `make rasa` installs it)")
        return
    target = rasa_model_path(project, rasa_out)
    if target.exists():
        typer.echo(f"rasa: {target} is up to date")
        return
    rasa_out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    command = [
        str(executable.resolve()),
        "train",
        "--fixed-model-name",
        target.name.removesuffix(".tar.gz"),
        "--out",
        str(rasa_out.resolve()),
    ]
    with Progress(
        SpinnerColumn(),
        TextColumn("rasa: {task.description}"),
        TimeElapsedColumn(),
        console=_console(),
    ) as progress:
        task = progress.add_task("training (minutes on two cores)")
        with subprocess.Popen(
            command,
            cwd=project,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"},
        ) as process:
            assert process.stdout is not None
            tail: list[str] = []
            for line in process.stdout:
                for piece in line.replace("\r", "\n").splitlines():
                    if "Epochs:" in piece or "Finished training component" in piece:
                        progress.update(task, description=piece.strip()[:70])
                    tail = [*tail[-30:], piece]
        if process.returncode != 0:
            raise _fail("rasa train failed:\n" + "\n".join(tail))
    typer.echo(f"rasa: trained {target} in {time.perf_counter() - started:.0f} s")


def _interpret(model: Model, text: str) -> dict[str, Any]:
    from nlu import language as language_detection
    from nlu import sentiment as sentiment_analysis

    interpretation = model.interpret(text)
    detected = language_detection.shared().detect(text)
    data = interpretation.to_json()
    data["language"] = detected.language
    data["language_confidence"] = round(detected.confidence, 3)
    data["sentiment"] = sentiment_analysis.shared().score(text, detected.language)
    data["ranking"] = data["ranking"][:5]
    return data


@nlu_cli.command()
def parse(
    text: Annotated[
        str | None, typer.Argument(help="The sentence; none reads one per line from stdin.")
    ] = None,
    project: ProjectOption = DEFAULT_NLU_PROJECT,
    cache: CacheOption = DEFAULT_CACHE,
    rasa_url: Annotated[
        str | None, typer.Option(help="Ask a running Rasa server instead of the embedded engine.")
    ] = None,
) -> None:
    """Print what a sentence means: intent, confidence, ranking, entities, language,
    sentiment (JSON). With no TEXT, one JSON object per line of standard input."""
    import orjson

    if rasa_url is not None:
        _parse_with_rasa(rasa_url, text)
        return
    model = _embedded(project, cache, show=True)
    if text is not None:
        typer.echo(json.dumps(_interpret(model, text), ensure_ascii=False, indent=2))
        return
    for line in sys.stdin:
        sentence = line.strip()
        if sentence:
            typer.echo(orjson.dumps(_interpret(model, sentence)).decode())


def _parse_with_rasa(url: str, text: str | None) -> None:
    import asyncio

    import orjson

    from nlu.rasa import RasaInterpreter

    async def main() -> None:
        rasa = RasaInterpreter(url, frozenset())
        try:
            lines = [text] if text is not None else [x.strip() for x in sys.stdin if x.strip()]
            for sentence in lines:
                result = await rasa.parse(sentence)
                if result.error:
                    raise _fail(f"rasa at {url}: {result.error}")
                typer.echo(orjson.dumps(result.to_json()).decode())
        finally:
            await rasa.close()

    asyncio.run(main())


@nlu_cli.command()
def evaluate(
    project: ProjectOption = DEFAULT_NLU_PROJECT,
    test: Annotated[
        Path | None,
        typer.Option("--test", help="A Rasa NLU test file, as `rasa test nlu --nlu FILE`."),
    ] = None,
    folds: Annotated[int, typer.Option(min=2, max=20, help="Cross-validation folds.")] = 5,
    engine: Annotated[str, typer.Option(help="embedded, rasa or both.")] = "embedded",
    rasa_bin: Annotated[Path, typer.Option(help="Rasa's executable.")] = DEFAULT_RASA_BIN,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable results.")] = False,
    cache: CacheOption = DEFAULT_CACHE,
    out_of_scope: Annotated[
        list[Path] | None,
        typer.Option(
            "--out-of-scope",
            help="A Rasa NLU file of messages the bot should not claim to understand (any"
            " intent label), judged by the cross-validation's models; repeatable. Default:"
            " the sets Switchboard ships (other domains in English and French, gibberish).",
        ),
    ] = None,
    leave_intents_out: Annotated[
        bool,
        typer.Option(
            help="Also train without each fifth of the intents and count how many of their"
            " examples are flagged out of scope."
        ),
    ] = True,
) -> None:
    """Accuracy per intent and the most confused pairs, in-scope accuracy, out-of-scope
    recall and overall accuracy: cross-validated over the project's examples (with the
    out-of-scope sets and left-out intents), or on a separate test file (trained on the whole
    project)."""
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from nlu.evaluation import (
        cross_validate,
        evaluate_file,
        leave_out_trainings,
        out_of_scope_sets,
        read_test_file,
    )
    from nlu.project import load_project

    if engine not in ("embedded", "rasa", "both"):
        raise _fail(f"--engine must be embedded, rasa or both, not {engine!r}")
    reports: list[Report] = []
    try:
        if test is not None:
            read_test_file(test)  # a malformed test file fails before any training
        # Malformed out-of-scope files fail before any training too.
        outside = out_of_scope_sets(out_of_scope) if test is None else {}
        if engine in ("embedded", "both"):
            if test is not None:
                reports.append(evaluate_file(_embedded(project, cache, show=not as_json), test))
            else:
                loaded = load_project(project)
                trainings = folds + (leave_out_trainings(loaded) if leave_intents_out else 0)
                with Progress(
                    TextColumn("embedded: cross-validating"),
                    BarColumn(),
                    TimeElapsedColumn(),
                    console=_console(),
                    disable=as_json,
                ) as progress:
                    task = progress.add_task("", total=trainings)
                    reports.append(
                        cross_validate(
                            loaded,
                            folds,
                            progress=lambda n: progress.update(task, completed=n),
                            out_of_scope=outside,
                            leave_out=leave_intents_out,
                        )
                    )
        if engine in ("rasa", "both"):
            reports.append(rasa_evaluation(project, rasa_bin, test, folds))
    except (ProjectError, ValueError) as error:
        raise _fail(str(error)) from None
    if as_json:
        typer.echo(json.dumps([r.to_json() for r in reports], ensure_ascii=False, indent=2))
        return
    out = Console()
    for result in reports:
        _print_report(out, result)


def rasa_evaluation(project: Path, rasa_bin: Path, test: Path | None, folds: int) -> Report:
    """Rasa's own `rasa test nlu` (cross-validated, or on the test file with the trained
    model), read back from the reports it writes."""
    import tempfile

    from nlu.evaluation import report

    if not rasa_bin.exists():
        raise ValueError(f"{rasa_bin} not found; `make rasa` installs Rasa")
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as out:
        command = [str(rasa_bin.resolve()), "test", "nlu", "--out", out]
        if test is None:
            command += ["--nlu", "data", "--cross-validation", "--folds", str(folds)]
            command += ["--config", "config.yml"]
            method = f"{folds}-fold cross-validation"
        else:
            model = rasa_model_path(project, DEFAULT_RASA_OUT.resolve())
            if not model.exists():
                raise ValueError("no Rasa model for these files: run `switchboard nlu train`")
            command += ["--nlu", str(test.resolve()), "--model", str(model)]
            method = str(test)
        done = subprocess.run(command, cwd=project, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise ValueError("rasa test nlu failed:\n" + done.stdout[-2000:] + done.stderr[-2000:])
        errors_path = Path(out) / "intent_errors.json"
        report_path = Path(out) / "intent_report.json"
        intent_report = json.loads(report_path.read_text())
        errors = json.loads(errors_path.read_text()) if errors_path.exists() else []
    gold: list[str] = []
    predicted: list[str] = []
    # Rebuild the predictions: right ones from the supports, wrong ones from the errors.
    wrong = [(e["intent"], (e.get("intent_prediction") or {}).get("name", "")) for e in errors]
    wrong_by_gold: dict[str, int] = {}
    for g, p in wrong:
        gold.append(g)
        predicted.append(p)
        wrong_by_gold[g] = wrong_by_gold.get(g, 0) + 1
    for name, scores in intent_report.items():
        if not isinstance(scores, dict) or name in ("macro avg", "weighted avg", "micro avg"):
            continue
        right = int(scores.get("support", 0)) - wrong_by_gold.get(name, 0)
        gold += [name] * right
        predicted += [name] * right
    return report("rasa", method, gold, predicted, time.perf_counter() - started)


def _print_report(out: Console, result: Report) -> None:
    from rich.table import Table

    table = Table(title=f"{result.engine}: {result.method}, {result.examples} examples")
    for column in ("intent", "precision", "recall", "f1", "support"):
        table.add_column(column, justify="left" if column == "intent" else "right")
    for name, scores in sorted(result.intents.items()):
        table.add_row(
            name,
            f"{scores['precision']:.2f}",
            f"{scores['recall']:.2f}",
            f"{scores['f1-score']:.2f}",
            str(int(scores["support"])),
        )
    out.print(table)
    out.print(
        f"accuracy {result.accuracy:.3f}   macro F1 {result.macro_f1:.3f}"
        f"   weighted F1 {result.weighted_f1:.3f}"
    )
    if result.top1_accuracy is not None:
        out.print(f"in-scope first choice right, before any fallback: {result.top1_accuracy:.3f}")
    figures = []
    if result.in_scope_accuracy is not None:
        figures.append(f"in-scope accuracy {result.in_scope_accuracy:.3f}")
        if result.top1_accuracy is not None:
            # What the out-of-scope detector costs the messages the bot understands.
            cost = (result.top1_accuracy - result.in_scope_accuracy) * 100
            figures[-1] += f" ({max(cost, 0.0):.1f} points under the first choice)"
    if result.out_of_scope_recall is not None:
        figures.append(f"out-of-scope recall {result.out_of_scope_recall:.3f}")
    figures.append(f"overall accuracy {result.accuracy:.3f}")
    out.print("   ".join(figures))
    if result.recall_by_source:
        out.print(
            "out-of-scope recall by set: "
            + ", ".join(f"{name} {recall:.3f}" for name, recall in result.recall_by_source.items())
        )
    if result.training_seconds is not None:
        out.print(f"one training: {result.training_seconds:.1f} s on average")
    for note in result.notes:  # e.g. intents with fewer examples than folds
        out.print(f"note: {note}", markup=False, highlight=False)
    if result.confused:
        out.print("most confused (intent → predicted: count):")
        for gold, predicted, count in result.confused:
            out.print(f"  {gold} → {predicted}: {count}")
