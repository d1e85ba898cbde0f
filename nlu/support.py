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


# Components whose model_confidence Rasa 3.6 checks (train_utils._check_confidence_setting):
# it refuses to train with any but softmax (or auto).
CONFIDENCE_CHECKED = frozenset(
    {"DIETClassifier", "ResponseSelector", "TEDPolicy", "UnexpecTEDIntentPolicy"}
)
RASA_CONFIDENCES = frozenset({"softmax", "auto"})


def audit_config(project: Project, path: Path) -> None:
    """Name every pipeline component and policy the embedded engine does not honour, Rasa's
    defaults included when a section is empty, and what Rasa 3.6 would refuse to train that
    the engine trains anyway (no config.yml, no language, a confidence Rasa removed)."""
    if not path.is_file():
        project.note(
            path,
            None,
            "no config.yml",
            "Rasa 3.6 refuses to train without one; the engine trains with Rasa's default"
            " pipeline and policies (named below)",
        )
    elif not project.config.get("language"):
        project.note(
            path,
            None,
            "no language in config.yml",
            "Rasa 3.6 refuses to train without it; the engine counts English (en) among the"
            " bot's languages, with those its examples are written in",
        )
    for name_of_section in ("pipeline", "policies"):
        for item in project.config.get(name_of_section) or []:
            if not isinstance(item, dict) or item.get("name") not in CONFIDENCE_CHECKED:
                continue
            confidence = item.get("model_confidence")
            if confidence is not None and str(confidence) not in RASA_CONFIDENCES:
                project.note(
                    path,
                    _line(item),
                    f"{item['name']} model_confidence: {confidence}",
                    "Rasa 3.6 refuses to train with it (softmax only); the engine ignores the"
                    " option: its own calibrated confidences serve",
                )
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
    an action server, the project's own action_session_start, its global slot validation
    and its custom slot mappings' actions)."""
    return [
        str(n)
        for n in project.unsupported
        if not (duckling and n.feature == f"component {DUCKLING}")
        and not (action_server and runs_on_action_server(n.feature))
    ]


def runs_on_action_server(feature: str) -> bool:
    """Whether a note names what an action server runs."""
    return feature in ("custom action_session_start", "custom action_validate_slot_mappings") or (
        feature.startswith("slot ") and ": custom mapping action " in feature
    )


def _learns_entities(item: dict[str, Any]) -> bool:
    return bool(item.get("entity_recognition", True))


def _line(item: Any) -> int | None:
    line = getattr(item, "line", None)
    return line if isinstance(line, int) else None
