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
        "no TED generalisation: where no rule or remembered stretch of a story matches, the"
        " story whose latest intents and actions match best is followed"
    ),
    "UnexpecTEDIntentPolicy": "unexpected intents are not flagged",
}


# What Rasa runs when config.yml leaves a section empty (its default_config.yml).
DEFAULT_PIPELINE = (
    "WhitespaceTokenizer",
    "RegexFeaturizer",
    "LexicalSyntacticFeaturizer",
    "CountVectorsFeaturizer",
    "DIETClassifier",
    "EntitySynonymMapper",
    "ResponseSelector",
    "FallbackClassifier",
)
DEFAULT_POLICIES = ("MemoizationPolicy", "RulePolicy", "UnexpecTEDIntentPolicy", "TEDPolicy")


def section(project: Project, name: str) -> list[dict[str, Any]]:
    """A config section's components, or the ones Rasa runs by default when it is empty."""
    items = [i for i in project.config.get(name) or [] if isinstance(i, dict)]
    if items:
        return items
    defaults = DEFAULT_PIPELINE if name == "pipeline" else DEFAULT_POLICIES
    return [{"name": component} for component in defaults]


def audit_config(project: Project, path: Path) -> None:
    """Name every pipeline component and policy the embedded engine does not honour, Rasa's
    defaults included when a section is empty."""
    for name_of_section in ("pipeline", "policies"):
        by_default = not project.config.get(name_of_section)
        suffix = f" (Rasa's default {name_of_section})" if by_default else ""
        for item in section(project, name_of_section):
            name = item.get("name")
            if not isinstance(name, str) or name in REPLACED:
                if name == "DIETClassifier" and _learns_entities(item):
                    project.note(
                        path,
                        _line(item),
                        f"DIETClassifier entity recognition{suffix}",
                        "entities are the annotated values found in their context, regexes"
                        " and lookup tables; DIET's learned entities are not predicted",
                    )
                continue
            instead = INSTEAD.get(name, "not run: a custom component or policy is not loaded")
            label = "policy" if name_of_section == "policies" else "component"
            project.note(path, _line(item), f"{label} {name}{suffix}", instead)


def still_unsupported(
    project: Project, *, duckling: bool, action_server: bool = False
) -> list[str]:
    """The notes that hold for a running engine (with a Duckling server, Duckling runs; with
    an action server, the project's own action_session_start)."""
    return [
        str(n)
        for n in project.unsupported
        if not (duckling and n.feature == f"component {DUCKLING}")
        and not (action_server and n.feature == "custom action_session_start")
    ]


def _learns_entities(item: dict[str, Any]) -> bool:
    return bool(item.get("entity_recognition", True))


def _line(item: Any) -> int | None:
    line = getattr(item, "line", None)
    return line if isinstance(line, int) else None
