"""Which parts of a Rasa ``config.yml`` the embedded engine honours, and what it does instead
of the others: each one it does not is named on the project (``Project.note``)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from nlu.project import Project

# Components whose work the embedded engine does its own way (tokens, features, intents,
# regexes, lookups, synonyms, the fallback intent): nothing to name.
REPLACED = frozenset(
    {
        "WhitespaceTokenizer",
        "RegexFeaturizer",
        "LexicalSyntacticFeaturizer",
        "CountVectorsFeaturizer",
        "DIETClassifier",
        "LogisticRegressionClassifier",
        "SklearnIntentClassifier",
        "KeywordIntentClassifier",
        "RegexEntityExtractor",
        "EntitySynonymMapper",
        "FallbackClassifier",
        "ResponseSelector",
        "MemoizationPolicy",
        "AugmentedMemoizationPolicy",
        "RulePolicy",
    }
)
DUCKLING = "DucklingEntityExtractor"
# What the engine does instead of the others, by component.
INSTEAD = {
    DUCKLING: (
        "no Duckling entities (dates, amounts...) unless SWITCHBOARD_DUCKLING_URL names a"
        " Duckling server"
    ),
    "SpacyNLP": "spaCy is not loaded; the engine's own word vectors serve instead",
    "SpacyTokenizer": "whitespace tokens instead",
    "SpacyFeaturizer": "the engine's own word vectors instead",
    "SpacyEntityExtractor": "no spaCy entities (PERSON, ORG, GPE...) are extracted",
    "CRFEntityExtractor": "only annotated values in context, regexes and lookups are found",
    "MitieNLP": "MITIE is not loaded; the engine's own word vectors serve instead",
    "MitieTokenizer": "whitespace tokens instead",
    "MitieFeaturizer": "the engine's own word vectors instead",
    "MitieEntityExtractor": "only annotated values in context, regexes and lookups are found",
    "MitieIntentClassifier": "the engine's own intent classifier instead",
    "JiebaTokenizer": "whitespace tokens instead (Chinese text is not segmented)",
    "ConveRTFeaturizer": "the engine's own word vectors instead",
    "LanguageModelFeaturizer": "the engine's own word vectors instead",
    "TEDPolicy": (
        "no TED generalisation: stories are followed by memoization only; a conversation"
        " that leaves them gets the fallback"
    ),
    "UnexpecTEDIntentPolicy": "unexpected intents are not flagged",
}


def audit_config(project: Project, path: Path) -> None:
    """Name every pipeline component and policy the embedded engine does not honour."""
    for section in ("pipeline", "policies"):
        for item in project.config.get(section) or []:
            name = item.get("name") if isinstance(item, dict) else None
            if not isinstance(name, str) or name in REPLACED:
                if name == "DIETClassifier" and _learns_entities(item):
                    project.note(
                        path,
                        _line(item),
                        "DIETClassifier entity recognition",
                        "entities are the annotated values found in their context, regexes"
                        " and lookup tables; DIET's learned entities are not predicted",
                    )
                continue
            instead = INSTEAD.get(name, "not run: a custom component or policy is not loaded")
            label = "policy" if section == "policies" else "component"
            project.note(path, _line(item), f"{label} {name}", instead)


def still_unsupported(project: Project, *, duckling: bool) -> list[str]:
    """The notes that hold for a running engine (with a Duckling server, Duckling runs)."""
    return [
        str(n)
        for n in project.unsupported
        if not (duckling and n.feature == f"component {DUCKLING}")
    ]


def _learns_entities(item: dict[str, Any]) -> bool:
    return bool(item.get("entity_recognition", True))


def _line(item: Any) -> int | None:
    line = getattr(item, "line", None)
    return line if isinstance(line, int) else None
