"""The embedded engine: trained in-process from a Rasa project's files, served without Rasa.

Training reads the same YAML Rasa does (``nlu.project``), fits the intent classifier, builds
the entity extractor and the dialogue policy, and notes which languages the examples are
written in. A trained model is cached under the fingerprint of the files, so a restart with
unchanged files does not retrain. A running engine watches its files: when they change it
retrains in a thread and swaps the model in; when they are broken it keeps its last good model
and reports the error (file and line) in its state.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import hashlib
import pickle
import re
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson
import structlog

from nlu import language as language_detection
from nlu import retrieval
from nlu.action_server import ActionServer

# Re-exported: the server's custom actions are written against them.
from nlu.actions import BOT_REQUESTED as BOT_REQUESTED
from nlu.actions import HANDOFF_ACTION, CustomAction, handoff_action
from nlu.actions import ActionContext as ActionContext
from nlu.base import (
    NLU_FALLBACK,
    OUT_OF_SCOPE_INTENTS,
    BotTurn,
    Dialogue,
    Entity,
    IntentScore,
    Interpretation,
    Scope,
)
from nlu.conversation import Conversations
from nlu.dialogue import DEFAULT_ACTIONS, DialoguePolicy
from nlu.duckling import Duckling
from nlu.entities import EntityExtractor
from nlu.project import Project, ProjectError, fingerprint, load_project
from nlu.support import still_unsupported

if TYPE_CHECKING:
    # scikit-learn takes a second or more to import: training imports it, and so does
    # unpickling a cached model, but importing this module does not.
    import numpy as np
    from numpy.typing import NDArray

    from nlu.batcher import EncoderBatcher
    from nlu.classifier import IntentClassifier
    from nlu.encoder import Reading
    from nlu.scope import ScopeDetector, Screening

log = structlog.get_logger(__name__)

KIND = "embedded"
# Rasa's FallbackClassifier defaults, used when config.yml does not set them.
DEFAULT_THRESHOLD = 0.3
DEFAULT_AMBIGUITY = 0.1
# A language counts as one the bot speaks when this share of the examples is written in it.
LANGUAGE_SHARE = 0.1
WATCH_SECONDS = 2.0
# Random letter strings the out-of-scope detector learns to refuse: a tenth of the examples,
# within these bounds.
GIBBERISH_MIN, GIBBERISH_MAX = 30, 300

Progress = Callable[[str], None]
# The steps ``train`` tells its progress callback, in order.
TRAIN_STEPS = ("entities", "intents", "scope", "dialogue", "languages")
# A button's payload naming an intent (Rasa's RegexMessageHandler syntax).
PAYLOAD = re.compile(r"/(?P<intent>[A-Za-z0-9_]+)(?P<entities>\{.*\})?", re.S)


@dataclass(frozen=True, slots=True)
class Draft:
    """A message read as far as the cheap evidence goes (``Model.draft``): the text, as the
    classifier saw it, its ranking and its out-of-scope screening (None without a
    detector)."""

    text: str
    masked: str
    ranking: tuple[IntentScore, ...]
    screening: Screening | None

    @property
    def asks_encoder(self) -> bool:
        """Whether the detector needs the sentence encoder's reading of ``masked``."""
        return self.screening is not None and self.screening.asks_encoder


@dataclass
class Model:
    """Everything a trained engine holds; pickled into the cache."""

    project: Project
    classifier: IntentClassifier
    extractor: EntityExtractor
    policy: DialoguePolicy
    languages: frozenset[str]
    threshold: float
    ambiguity: float
    # The out-of-scope detector (nlu.scope); None when the examples are too few to calibrate
    # one, and then Rasa's FallbackClassifier thresholds decide alone.
    scope: ScopeDetector | None = None

    def warm(self) -> Model:
        """Parse once, so the embedding vectors load and the single-text scorer is built
        here (a loading thread) rather than in the first customer's message (~0.2 s)."""
        self.interpret("hello")
        return self

    def interpret(self, text: str) -> Interpretation:
        """The message's interpretation, the sentence encoder asked on this thread when the
        out-of-scope detector needs it (``draft`` and ``finish`` let it be asked elsewhere)."""
        drafted = self.draft(text)
        if isinstance(drafted, Interpretation):
            return drafted
        reading = None
        if drafted.asks_encoder:
            from nlu import encoder

            found = encoder.shared()
            reading = found.read(drafted.masked) if found is not None else None
        return self.finish(drafted, reading)

    def draft(self, text: str) -> Interpretation | Draft:
        """The cheap part of ``interpret`` (a fraction of a millisecond): a button's payload
        is interpreted outright; anything else is ranked and screened for scope, and the
        draft says whether the sentence encoder must read it before ``finish``."""
        chosen = self._payload(text)
        if chosen is not None:
            return chosen
        masked = self.extractor.mask(text)
        if self.scope is None:
            return Draft(text, masked, self.classifier.rank(masked), None)
        # The classifier and the detector share the one embedding of the text.
        embedding = self.scope.embed(masked)
        ranking = self.classifier.rank(masked, embedding)
        return Draft(text, masked, ranking, self.scope.screen(masked, ranking, embedding))

    def finish(self, drafted: Draft, reading: Reading | None = None) -> Interpretation:
        """The interpretation of a draft, with the encoder's ``reading`` of its masked text
        when the draft asked for one (None: the cheap evidence decides alone)."""
        scope = None
        if self.scope is not None and drafted.screening is not None:
            scope = self.scope.conclude(drafted.screening, reading)
        return self._concluded(drafted.text, drafted.ranking, scope)

    def _payload(self, text: str) -> Interpretation | None:
        """A button's payload, as Rasa reads it: ``/intent`` or ``/intent{"slot": "value"}``
        names the intent (and entities) outright, at full confidence."""
        match = PAYLOAD.fullmatch(text.strip())
        if match is None or match["intent"] not in (*self.project.intents, *DEFAULT_ACTIONS):
            return None
        try:
            values = orjson.loads(match["entities"]) if match["entities"] else {}
        except orjson.JSONDecodeError:
            return None
        if not isinstance(values, dict):
            return None
        entities = tuple(
            Entity(str(k), str(v), 0, len(text), str(v), "payload") for k, v in values.items()
        )
        return Interpretation(
            text=text,
            intent=match["intent"],
            confidence=1.0,
            ranking=(IntentScore(match["intent"], 1.0),),
            entities=entities,
            engine=KIND,
        )

    def interpret_ranked(
        self,
        text: str,
        ranking: tuple[IntentScore, ...],
        masked: str | None = None,
        embedding: NDArray[np.float64] | None = None,
    ) -> Interpretation:
        """The intent, or the fallback when the message is out of scope. With a detector,
        it decides instead of the FallbackClassifier's raw thresholds, which mean different
        things on different projects (nlu.scope); the project's own out-of-scope intent, when
        the classifier chooses it, stands as the project's answer."""
        scope = None
        if self.scope is not None:
            masked = self.extractor.mask(text) if masked is None else masked
            scope = self.scope.judge(masked, ranking, embedding)
        return self._concluded(text, ranking, scope)

    def _concluded(
        self, text: str, ranking: tuple[IntentScore, ...], scope: Scope | None
    ) -> Interpretation:
        # A retrieval intent's sub-intents count together, as Rasa's classifier sees it.
        by_intent = retrieval.grouped(ranking)
        top = by_intent[0]
        second = by_intent[1].confidence if len(by_intent) > 1 else 0.0
        intent, confidence = top.name, top.confidence
        if scope is not None:
            fallback = scope.out_of_scope and intent not in OUT_OF_SCOPE_INTENTS
        else:
            fallback = confidence < self.threshold or confidence - second < self.ambiguity
        if fallback:
            # As Rasa's FallbackClassifier: the fallback intent takes the threshold as its
            # confidence and the ranking keeps what the classifier thought.
            intent, confidence = NLU_FALLBACK, self.threshold
        # Reported as Rasa reports it: the retrieval intent, and its sub-intent beside it.
        base, _, sub = intent.partition("/")
        return Interpretation(
            text=text,
            intent=base,
            retrieval_intent=intent if sub else None,
            confidence=confidence,
            ranking=ranking,
            entities=self.extractor.extract(text),
            engine=KIND,
            scope=scope,
        )


def train(project: Project, progress: Progress | None = None) -> Model:
    """Fit a model to a loaded project (a few seconds for a thousand examples)."""
    from nlu.classifier import IntentClassifier

    say = progress or (lambda _step: None)
    say("entities")
    extractor = EntityExtractor(project)
    say("intents")
    texts = [extractor.mask(e.text) for e in project.examples]
    classifier = IntentClassifier().fit(texts, [e.intent for e in project.examples])
    say("scope")
    scope = fit_scope(classifier, texts, [e.intent for e in project.examples])
    say("dialogue")
    policy = DialoguePolicy(project)
    say("languages")
    languages = detect_languages(project)
    fallback = project.component("FallbackClassifier")
    return Model(
        project=project,
        classifier=classifier,
        extractor=extractor,
        policy=policy,
        languages=languages,
        threshold=float(fallback.get("threshold", DEFAULT_THRESHOLD)),
        ambiguity=float(fallback.get("ambiguity_threshold", DEFAULT_AMBIGUITY)),
        scope=scope,
    )


def fit_scope(
    classifier: IntentClassifier, texts: list[str], intents: list[str]
) -> ScopeDetector | None:
    """The out-of-scope detector, from the classifier's held-out calibration folds and
    random letter strings (about one for ten examples) as the gibberish it should refuse,
    with the sentence encoder's evidence when its packages are installed (nlu.encoder)."""
    import numpy as np

    from nlu import encoder
    from nlu.embedding import token_vectors
    from nlu.scope import ScopeDetector
    from nlu.scope_calibration import background, gibberish

    held_out = classifier.held_out
    if held_out is None:
        return None
    classes = classifier.classes
    noise = gibberish(min(GIBBERISH_MAX, max(GIBBERISH_MIN, len(texts) // 10)))
    foreign = list(background())
    probabilities = [
        np.array([dict((s.name, s.confidence) for s in r).get(c, 0.0) for c in classes])
        for r in classifier.rank_many(noise + foreign)
    ]
    labels = np.searchsorted(np.asarray(classes), np.asarray(intents))
    return ScopeDetector.fit(
        classes,
        texts,
        labels,
        held_out,
        token_vectors(),
        list(zip(noise, probabilities[: len(noise)], strict=True)),
        list(zip(foreign, probabilities[len(noise) :], strict=True)),
        # The sentence encoder, when installed, for the messages the cheap evidence leaves
        # unsure (None: the cheap evidence decides alone, with a warning).
        encoder.shared(),
    )


def detect_languages(project: Project) -> frozenset[str]:
    """The languages the examples are written in; config.yml's ``language`` always counts."""
    detector = language_detection.shared()
    counts = Counter(detector.detect(e.text).language for e in project.examples)
    counts.pop(None, None)
    total = sum(counts.values())
    found = {lang for lang, n in counts.items() if lang and total and n / total >= LANGUAGE_SHARE}
    found.add(str(project.config.get("language") or "en"))
    return frozenset(found)


@functools.cache
def _engine_version() -> str:
    """A hash of the engine's own code: a model pickled by other code is not reused."""
    # The installed version from its metadata: importing scikit-learn costs a second.
    digest = hashlib.sha256(f"{version('scikit-learn')} {version('wordllama')}".encode())
    # With or without the sentence encoder, the out-of-scope detector is fitted differently.
    from nlu.encoder import installed

    digest.update(installed().encode())
    # Every module whose classes a pickled model holds.
    package = Path(__file__).parent
    for path in sorted(package.glob("*.py")):
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def _cache_path(cache_dir: Path, project_fingerprint: str) -> Path:
    return cache_dir / f"embedded-{project_fingerprint[:24]}-{_engine_version()}.pkl"


def cached(root: Path, cache_dir: Path) -> Model | None:
    """The cached model for these files, if one was trained (None: training is needed)."""
    path = _cache_path(cache_dir, fingerprint(root))
    if path.is_file():
        with contextlib.suppress(Exception), path.open("rb") as handle:
            model = pickle.load(handle)
            if isinstance(model, Model):
                return model.warm()
    return None


def load_or_train(root: Path, cache_dir: Path, progress: Progress | None = None) -> Model:
    """The cached model for these files, or a freshly trained one (then cached)."""
    found = cached(root, cache_dir)
    if found is not None:
        return found
    path = _cache_path(cache_dir, fingerprint(root))
    project = load_project(root)
    model = train(project, progress)
    cache_dir.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp")
    with temporary.open("wb") as handle:
        pickle.dump(model, handle)
    temporary.replace(path)
    return model.warm()


class EmbeddedInterpreter:
    """The Interpreter port over a trained Model, with live reloading of the project."""

    def __init__(
        self,
        root: Path,
        cache_dir: Path,
        model: Model,
        actions: Mapping[str, CustomAction] | None = None,
        action_server_url: str | None = None,
        duckling_url: str | None = None,
    ) -> None:
        self._root = root
        self._cache_dir = cache_dir
        self._model = model
        self._actions: dict[str, CustomAction] = {
            HANDOFF_ACTION: handoff_action,
            **(actions or {}),
        }
        # The project's other custom actions run on its action server, as with Rasa.
        self._action_server = ActionServer(action_server_url) if action_server_url else None
        self._conversations = Conversations(self._actions, self._action_server)
        # Duckling's options are the project's when the engine starts.
        self._duckling = Duckling.for_project(duckling_url, model.project)
        self._fingerprint = model.project.fingerprint
        self._error: str | None = None
        # The last refused edit as raised (file and line), for the console's "train".
        self._refusal: ProjectError | ValueError | None = None
        # One reload at a time: the watcher's and a designer's "train" (issue 19) share it.
        self._reloading = asyncio.Lock()
        self._watcher: asyncio.Task[None] | None = None
        # The sentence encoder's worker thread (nlu.batcher), made at the first parse of a
        # model whose detector uses the encoder (loading the encoder: ~2 s, once per process).
        self._batcher: EncoderBatcher | None = None
        self._encoder_missing = False
        self._loading = asyncio.Lock()

    @property
    def kind(self) -> str:
        return KIND

    @property
    def languages(self) -> frozenset[str]:
        return self._model.languages

    @property
    def wants_history(self) -> bool:
        return True  # the dialogue is read back from the stored messages

    @property
    def model(self) -> Model:
        return self._model

    @property
    def conversations(self) -> Conversations:
        """The dialogue's trackers, one per conversation."""
        return self._conversations

    @property
    def has_action_server(self) -> bool:
        return self._action_server is not None

    def runner_of(self, action: str) -> str:
        """Who runs a custom action: "switchboard", "action server", or "none" (the
        conversation goes to a person when it reaches it)."""
        if action in self._actions:
            return "switchboard"
        return "action server" if self._action_server is not None else "none"

    def start_watching(self, interval: float = WATCH_SECONDS) -> None:
        self._watcher = asyncio.create_task(self._watch(interval), name="nlu-watch")

    async def _watch(self, interval: float) -> None:
        while True:
            await asyncio.sleep(interval)
            await self.reload()

    @property
    def root(self) -> Path:
        """The project folder the engine watches."""
        return self._root

    @property
    def refusal(self) -> ProjectError | ValueError | None:
        """Why the files' latest edit was refused (None once a model of them serves)."""
        return self._refusal

    async def reload(self, progress: Progress | None = None) -> bool:
        """Retrain if the files changed; keep the current model if they are broken.
        ``progress`` is told each training step (from the training thread)."""
        async with self._reloading:
            try:
                current = await asyncio.to_thread(fingerprint, self._root)
            except OSError as error:
                self._error = f"{self._root}: {error}"
                return False
            if current == self._fingerprint:
                return False
            self._fingerprint = current
            try:
                model = await asyncio.to_thread(
                    load_or_train, self._root, self._cache_dir, progress
                )
            except (ProjectError, ValueError) as error:
                self._error, self._refusal = str(error), error
                log.warning(
                    "nlu project not reloaded; keeping the last good model", error=str(error)
                )
                return False
            self._model, self._error, self._refusal = model, None, None
            log.info("nlu model reloaded", fingerprint=current[:12])
            return True

    async def parse(self, text: str) -> Interpretation:
        model = self._model
        batcher = await self._encoder_batcher(model)
        drafted = model.draft(text)
        if isinstance(drafted, Interpretation):
            interpretation = drafted
        else:
            # The sentence encoder (~1.5 ms a text) reads in a worker thread: the loop
            # serves other conversations meanwhile.
            reading = None
            if drafted.asks_encoder and batcher is not None:
                reading = await batcher.read(drafted.masked)
            interpretation = model.finish(drafted, reading)
        if self._duckling is not None:
            interpretation = await self._duckling.add_to(interpretation)
        return interpretation

    async def _encoder_batcher(self, model: Model) -> EncoderBatcher | None:
        """The sentence encoder's worker, when the model's detector uses the encoder (None
        when it does not, or the encoder's packages are missing)."""
        scope = model.scope
        if self._batcher is not None or scope is None or not scope.uses_encoder:
            return self._batcher
        async with self._loading:
            if self._batcher is None and not self._encoder_missing:
                # Loaded in a thread (~2 s, once per process) before the first parse: the
                # first message the detector is unsure of would otherwise wait for it.
                from nlu import encoder
                from nlu.batcher import EncoderBatcher

                found = await asyncio.to_thread(encoder.shared)
                self._batcher = EncoderBatcher(found) if found is not None else None
                self._encoder_missing = found is None
        return self._batcher

    async def respond(self, dialogue: Dialogue) -> BotTurn:
        model = self._model
        return await self._conversations.respond(model.project, model.policy, dialogue)

    def state(self) -> dict[str, Any]:
        return {
            "kind": KIND,
            "project": str(self._root),
            "fingerprint": self._model.project.fingerprint[:12],
            "intents": len(self._model.project.intents),
            "languages": sorted(self._model.languages),
            # What the project asks for that this engine does not do, and what it does instead.
            "unsupported": still_unsupported(
                self._model.project,
                duckling=self._duckling is not None,
                action_server=self._action_server is not None,
            ),
            "error": self._error,
        }

    async def close(self) -> None:
        if self._batcher is not None:
            await self._batcher.close()
        if self._action_server is not None:
            await self._action_server.close()
        if self._duckling is not None:
            await self._duckling.close()
        if self._watcher is not None:
            self._watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watcher
