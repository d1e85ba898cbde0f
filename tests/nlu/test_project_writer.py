"""The project writer: nothing changed is byte-for-byte nothing written, and an added example
is one added line in ``git diff``, on every Rasa project this repository trains."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from nlu.base import Button
from nlu.markup import Example, Span, parse_example
from nlu.project import load_project, project_files
from nlu.project_writer import (
    AlreadyThere,
    BadEdit,
    Draft,
    Stale,
    UnknownItem,
    Variation,
    add_examples,
    add_intent,
    delete_example,
    delete_response,
    edit_example,
    markup,
    set_lookup,
    set_regex,
    set_response,
    set_synonym,
    write_change,
)

REPO = Path(__file__).resolve().parents[2]
PROJECTS = [
    REPO / "nlu" / "rasa_project",
    REPO / "tests" / "nlu" / "projects" / "bank",
    REPO / "tests" / "nlu" / "projects" / "faq",
    REPO / "tests" / "nlu" / "projects" / "helpdesk",
    REPO / "tests" / "nlu" / "data" / "moodbot",
]
IDS = [p.name for p in PROJECTS]


def _snapshot(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*") if p.is_file()}


@pytest.fixture
def repo_copy(tmp_path: Path, request: pytest.FixtureRequest) -> Path:
    """The project copied into a fresh git repository, committed, for ``git diff``."""
    source: Path = request.param
    root = tmp_path / source.name
    shutil.copytree(source, root, ignore=shutil.ignore_patterns("__pycache__", "models"))
    _git(root, "init", "-q")
    _git(root, "add", ".")
    _git(root, "-c", "user.email=t@t", "-c", "user.name=t", "commit", "-qm", "base")
    return root


def _git(root: Path, *args: str) -> str:
    done = subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return done.stdout


def _numstat(root: Path) -> list[tuple[int, int, str]]:
    rows = [line.split("\t") for line in _git(root, "diff", "--numstat").splitlines()]
    return [(int(a), int(r), path) for a, r, path in rows]


@pytest.mark.parametrize("source", PROJECTS, ids=IDS)
def test_everything_rewritten_as_it_is_changes_no_byte(source: Path, tmp_path: Path) -> None:
    """Each intent, synonym, regex and lookup rewritten with its own lines and each response
    with its own variations: the change is empty, and writing it leaves every byte."""
    root = tmp_path / "p"
    shutil.copytree(source, root, ignore=shutil.ignore_patterns("__pycache__", "models"))
    before = _snapshot(root)
    draft = Draft(root)
    for path in project_files(root):
        if path.is_file():
            yt = draft.file(path.relative_to(root).as_posix())
            yt.commit(yt.doc)  # the file reads back as itself
    for kind in ("intent", "synonym", "regex", "lookup"):
        names = {
            str(items[index][kind])
            for relative in draft.data_files()
            for items in [draft.file(relative).doc.get("nlu") or []]
            for index in range(len(items))
            if kind in items[index]
        }
        for name in sorted(names):
            draft.set_item_lines(kind, name, draft.items_of(kind, name))
    for relative in draft.domain_files():
        responses = draft.file(relative).doc.get("responses") or {}
        for name in list(responses):
            draft.set_response(name, responses[name])
    change = draft.change("nothing")
    assert change.files == ()
    write_change(root, change)
    assert _snapshot(root) == before


@pytest.mark.parametrize("repo_copy", PROJECTS, ids=IDS, indirect=True)
def test_one_added_example_is_one_added_line(repo_copy: Path) -> None:
    project = load_project(repo_copy)
    intent = project.examples[-1].intent
    change = add_examples(repo_copy, intent, [Example("could you say that once more", intent)])
    assert change.lines_changed == (1, 0)
    write_change(repo_copy, change)
    assert [(a, r) for a, r, _ in _numstat(repo_copy)] == [(1, 0)]
    again = load_project(repo_copy)
    assert [e.text for e in again.examples if e.intent == intent][-1] == (
        "could you say that once more"
    )


@pytest.mark.parametrize("repo_copy", [PROJECTS[0]], ids=IDS[:1], indirect=True)
def test_an_edited_example_is_one_line_and_a_deleted_one_one_removed(repo_copy: Path) -> None:
    write_change(repo_copy, edit_example(repo_copy, "greet", "hiya", Example("hiya folks", "")))
    assert [(a, r) for a, r, _ in _numstat(repo_copy)] == [(1, 1)]
    _git(repo_copy, "-c", "user.email=t@t", "-c", "user.name=t", "commit", "-qam", "edit")
    write_change(repo_copy, delete_example(repo_copy, "greet", "hiya folks"))
    assert [(a, r) for a, r, _ in _numstat(repo_copy)] == [(0, 1)]
    greet = [e.text for e in load_project(repo_copy).examples if e.intent == "greet"]
    assert "hiya" not in greet
    assert "hiya folks" not in greet


def test_entity_spans_are_written_as_rasa_markup() -> None:
    plain = Example(
        "order 10234 from paris",
        "x",
        (
            Span("order_number", "10234", "10234", 6, 11),
            Span("city", "paris", "Paris", 17, 22, role="departure"),
        ),
    )
    written = markup(plain)
    assert written == (
        'order [10234](order_number) from [paris]{"entity": "city", "value": "Paris", '
        '"role": "departure"}'
    )
    assert parse_example(written, "x").entities == plain.entities
    with pytest.raises(BadEdit):
        markup(Example("order 10234", "x", (Span("order_number", "10234", "10234", 6, 10),)))
    with pytest.raises(BadEdit):
        markup(Example("two\nlines", "x"))


@pytest.mark.parametrize("repo_copy", PROJECTS, ids=IDS, indirect=True)
def test_a_new_intent_its_response_and_lists_read_back(repo_copy: Path) -> None:
    examples = [Example("what is the weather like", ""), Example("quel temps fait-il", "")]
    write_change(repo_copy, add_intent(repo_copy, "ask_weather", examples))
    variations = [
        Variation(text="Sunny!", buttons=(Button("Thanks", "/thank"),)),
        Variation(text="Ensoleillé !", language="fr", image="https://example.org/sun.png"),
    ]
    write_change(repo_copy, set_response(repo_copy, "utter_weather", variations))
    write_change(repo_copy, set_synonym(repo_copy, "credit card", ["cc", "carte bleue"]))
    write_change(repo_copy, set_regex(repo_copy, "zip", [r"\d{5}"]))
    write_change(repo_copy, set_lookup(repo_copy, "colour", ["red", "blue"]))
    # Only lines were added: nothing the files held was rewritten.
    assert all(removed == 0 for _, removed, _ in _numstat(repo_copy))
    project = load_project(repo_copy)
    assert "ask_weather" in project.intents
    assert [e.text for e in project.examples if e.intent == "ask_weather"] == [
        "what is the weather like",
        "quel temps fait-il",
    ]
    weather = project.responses["utter_weather"]
    assert [(v.text, v.conditions) for v in weather] == [
        ("Sunny!", ()),
        ("Ensoleillé !", (("language", "fr"),)),
    ]
    assert weather[0].buttons == (Button("Thanks", "/thank"),)
    assert weather[1].image == "https://example.org/sun.png"
    assert project.synonyms["carte bleue"] == "credit card"
    assert project.lookups["colour"] == ["red", "blue"]
    assert any(r.name == "zip" for r in project.regexes)
    # Removing them again restores the files.
    write_change(repo_copy, delete_response(repo_copy, "utter_weather"))
    write_change(repo_copy, set_synonym(repo_copy, "credit card", []))
    write_change(repo_copy, set_regex(repo_copy, "zip", []))
    write_change(repo_copy, set_lookup(repo_copy, "colour", []))
    assert "utter_weather" not in load_project(repo_copy).responses


@pytest.mark.parametrize("repo_copy", [PROJECTS[0]], ids=IDS[:1], indirect=True)
def test_mistakes_are_named(repo_copy: Path) -> None:
    before = _snapshot(repo_copy)
    with pytest.raises(UnknownItem):
        add_examples(repo_copy, "no_such_intent", [Example("hello", "")])
    with pytest.raises(AlreadyThere):
        add_intent(repo_copy, "greet", [Example("hello", "")])
    with pytest.raises(UnknownItem):
        delete_example(repo_copy, "greet", "never said")
    with pytest.raises(AlreadyThere):
        edit_example(repo_copy, "greet", "hiya", Example("hello", ""))
    with pytest.raises(BadEdit):
        set_regex(repo_copy, "bad", ["(unclosed"])
    with pytest.raises(BadEdit):
        add_intent(repo_copy, "two words", [])
    with pytest.raises(BadEdit):
        set_response(repo_copy, "greeting", [Variation(text="hi")])
    with pytest.raises(UnknownItem):
        delete_response(repo_copy, "utter_never")
    assert _snapshot(repo_copy) == before


@pytest.mark.parametrize("repo_copy", [PROJECTS[0]], ids=IDS[:1], indirect=True)
def test_an_example_already_there_is_not_added_twice(repo_copy: Path) -> None:
    assert add_examples(repo_copy, "greet", [Example("hiya", "")]).files == ()


@pytest.mark.parametrize("repo_copy", [PROJECTS[0]], ids=IDS[:1], indirect=True)
def test_an_edit_computed_before_another_was_written_is_stale(repo_copy: Path) -> None:
    first = add_examples(repo_copy, "greet", [Example("hello from the first", "")])
    second = add_examples(repo_copy, "greet", [Example("hello from the second", "")])
    write_change(repo_copy, first)
    with pytest.raises(Stale):
        write_change(repo_copy, second)
    greet = [e.text for e in load_project(repo_copy).examples if e.intent == "greet"]
    assert "hello from the first" in greet
    assert "hello from the second" not in greet
