"""Random checkpoints: safetensors files of initialized tensors, written one chunk at a time.

Each tensor is generated in row blocks inside :func:`fastinit.shard` (so a block equals the
matching rows of the whole tensor and fans come from the whole shape) into one reused
buffer and written straight to the file: memory stays at ``chunk_bytes`` whatever the
model size (structured initializers, e.g. orthogonal, need their whole tensor).  Tensor
``name`` takes seed :func:`fastinit.torch.param_seed`-style ``blake2b(f"{seed}/{name}")``,
so a tensor's values do not depend on the other tensors in the file.

safetensors layout (https://github.com/huggingface/safetensors): an 8-byte little-endian
header length, a JSON header (``{name: {"dtype", "shape", "data_offsets"}}``, padded with
spaces to a multiple of 8), then the tensors' bytes back to back.

The file is written to a unique ``.<name>.XXXXXXXX.partial`` in the target directory,
fsynced and renamed over ``path`` (then the directory is fsynced): ``path`` holds either
its old content or the complete new file, never a mix, whatever other writers do.
Bad paths are refused before any tensor is generated.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import signal
import tempfile
import threading
from collections import Counter
from collections.abc import Callable, Mapping

import numpy as np

from . import _core, _output, _shard
from . import init as _init
from ._progress import progress_bar
from ._structured import is_structured
from ._validate import (
    BFLOAT16,
    check_float_dtype,
    check_int,
    check_shape,
    check_u64,
    derived_seed,
)

SAFETENSORS_DTYPES = {np.dtype(np.float16): "F16", BFLOAT16: "BF16",
                      np.dtype(np.float32): "F32", np.dtype(np.float64): "F64"}
INIT_SCHEMES = ("torch", "dummy", "normal")


def tensor_seed(seed: int, name: str) -> int:
    """The seed of tensor ``name`` in a checkpoint of seed ``seed``: the same as
    :func:`fastinit.torch.param_seed`, so a module's checkpoint holds
    :func:`~fastinit.torch.init_module_`'s values.

    Examples
    --------
    >>> from fastinit import checkpoint
    >>> checkpoint.tensor_seed(0, "a") == checkpoint.tensor_seed(0, "b")
    False
    """
    return derived_seed(seed, name)


def scheme_fill(scheme: str, name: str, shape: tuple, std: float = 0.02) -> Callable:
    """The in-place fill ``fn(array, seed=...)`` a scheme gives tensor ``name``:

    - "torch": torch's layer defaults read off the shape: >= 2-D kaiming_uniform_(a=sqrt 5)
      (nn.Linear/ConvNd), names with "embed"/"wte"/"wpe" N(0, 1) (nn.Embedding), 1-D
      ``"*bias"`` zeros, other 1-D ones (norm scales);
    - "dummy": U(-1e-3, 1e-3) for everything (vLLM's --load-format dummy);
    - "normal": N(0, std^2) for >= 2-D (GPT-2/BERT style, std=0.02), 1-D as "torch".

    Examples
    --------
    >>> import numpy as np
    >>> from fastinit import checkpoint
    >>> fill = checkpoint.scheme_fill("torch", "ln.weight", (4,))
    >>> fill(np.empty(4, np.float32), seed=0).tolist()
    [1.0, 1.0, 1.0, 1.0]
    """
    lower = name.lower()
    if scheme == "dummy":
        return lambda a, seed: _init.uniform_(a, -1e-3, 1e-3, seed=seed)
    if scheme not in INIT_SCHEMES:
        raise ValueError(f"init must be one of {INIT_SCHEMES} or a callable, got {scheme!r}")
    if len(shape) <= 1:
        if lower.endswith("bias"):
            return lambda a, seed: _init.zeros_(a)
        return lambda a, seed: _init.ones_(a)
    if scheme == "normal":
        return lambda a, seed: _init.normal_(a, 0.0, std, seed=seed)
    if any(k in lower for k in ("embed", "wte", "wpe")):
        return lambda a, seed: _init.normal_(a, 0.0, 1.0, seed=seed)
    return lambda a, seed: _init.kaiming_uniform_(a, a=math.sqrt(5), seed=seed)


def _normalize(specs) -> list[tuple[str, tuple, np.dtype | None, object]]:
    """[(name, shape, dtype or None, init or None)] from {name: shape} or a list of
    {"name", "shape", optional "dtype", "init"} dicts."""
    items = []
    if isinstance(specs, Mapping):
        specs = [{"name": k, "shape": v} for k, v in specs.items()]
    for i, spec in enumerate(specs):
        if not isinstance(spec, Mapping) or "name" not in spec or "shape" not in spec:
            raise ValueError(f"spec {i} must be a mapping with 'name' and 'shape', got {spec!r}")
        name = spec["name"]
        if not isinstance(name, str) or not name:
            raise ValueError(f"spec {i}: name must be a non-empty str, got {name!r}")
        if name == "__metadata__":
            raise ValueError(f"spec {i}: tensor name {name!r} is reserved by safetensors")
        dtype = None if spec.get("dtype") is None else check_float_dtype(spec["dtype"],
                                                                         f"{name}.dtype")
        items.append((name, check_shape(spec["shape"], f"{name}.shape"), dtype,
                      spec.get("init")))
    dups = _repeated(n for n, *_ in items)
    if dups:
        raise ValueError(f"tensor names must be unique, repeated: {dups}")
    return items


def _repeated(keys) -> list:
    """The keys that occur more than once, sorted."""
    return sorted(k for k, n in Counter(keys).items() if n > 1)


def _reject_duplicate_keys(pairs):
    dups = _repeated(k for k, _ in pairs)
    if dups:
        raise ValueError(f"duplicate keys in a JSON object: {dups}")
    return dict(pairs)


def load_spec(path):
    """The specs of JSON file ``path`` (``{name: shape}`` or a list of spec objects); a
    key repeated in one object is an error, not silently the last value.

    Examples
    --------
    >>> import json, os, tempfile
    >>> from fastinit import checkpoint
    >>> tmp = tempfile.TemporaryDirectory()
    >>> path = os.path.join(tmp.name, "spec.json")
    >>> with open(path, "w") as f:
    ...     json.dump({"fc.weight": [4, 8], "fc.bias": [4]}, f)
    >>> checkpoint.load_spec(path)
    {'fc.weight': [4, 8], 'fc.bias': [4]}
    >>> tmp.cleanup()
    """
    try:
        with open(path) as f:
            return json.load(f, object_pairs_hook=_reject_duplicate_keys)
    except OSError as exc:
        raise ValueError(f"spec {os.fspath(path)!r}: {exc.strerror}") from None
    except ValueError as exc:
        raise ValueError(f"spec {os.fspath(path)!r}: {exc}") from None


def check_path(path, name="path") -> str:
    """``path`` as a str if a file can be written there: not a directory or another
    non-regular file, in an existing directory this process may write to.

    Examples
    --------
    >>> import os, tempfile
    >>> from fastinit import checkpoint
    >>> tmp = tempfile.TemporaryDirectory()
    >>> path = os.path.join(tmp.name, "model.safetensors")
    >>> checkpoint.check_path(path) == path
    True
    >>> checkpoint.check_path(tmp.name)
    Traceback (most recent call last):
        ...
    ValueError: path '...' is a directory, expected a file path
    >>> tmp.cleanup()
    """
    if not isinstance(path, (str, bytes, os.PathLike)):
        raise TypeError(f"{name} must be a str or os.PathLike, got {type(path).__name__}")
    path = os.fsdecode(path)
    if not path:
        raise ValueError(f"{name} must be a non-empty file path")
    parent = os.path.dirname(path) or "."
    if not os.path.isdir(parent):
        what = "is not a directory" if os.path.exists(parent) else "does not exist"
        raise ValueError(f"{name} {path!r}: parent {parent!r} {what}")
    if not os.path.basename(path) or os.path.isdir(path):
        raise ValueError(f"{name} {path!r} is a directory, expected a file path")
    if os.path.exists(path) and not os.path.isfile(path):
        raise ValueError(f"{name} {path!r} exists and is not a regular file")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise ValueError(f"{name} {path!r}: directory {parent!r} is not writable")
    return path


@contextlib.contextmanager
def _sigterm_raises():
    """While writing, SIGTERM raises SystemExit(128 + SIGTERM) instead of killing the
    process, so the temporary file is removed (main thread, default handler only)."""
    if (threading.current_thread() is not threading.main_thread()
            or signal.getsignal(signal.SIGTERM) != signal.SIG_DFL):
        yield
        return

    def terminate(signum, frame):
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, terminate)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)


def write_safetensors(path, specs, *, seed, dtype=np.float32, init="torch", std=0.02,
                      chunk_bytes=64 << 20, metadata=None, progress=False) -> dict:
    """Write a safetensors file of initialized tensors; returns the header.

    Parameters
    ----------
    path : str or os.PathLike
        The file, replaced atomically (see the module docstring).
    specs : {name: shape} or list of dict
        Or ``[{"name", "shape", "dtype"?, "init"?}]``.
    seed : int
        Checkpoint seed; tensor ``name`` takes :func:`tensor_seed` ``(seed, name)``.
    dtype : numpy dtype
        Of the tensors whose spec names none.
    init : {"torch", "dummy", "normal"} or callable
        A scheme (see :func:`scheme_fill`, ``std`` of "normal"), or a callable
        ``fn(array, seed=...)`` (e.g. a fastinit.init in-place function), per file or per
        tensor ("init" of a spec).
    chunk_bytes : int
        Size of the reused buffer each tensor is generated into, row block by row block.
    metadata : dict of str, optional
        Extra entries of the header's ``__metadata__`` (keys and values as str).
    progress : bool
        A tqdm bar of the bytes written on stderr when it is a terminal (and tqdm is
        installed; nothing in logs and pipes).

    Returns
    -------
    dict
        The header written.

    Notes
    -----
    Bad specs and paths raise before any tensor is generated.  On an error, Ctrl-C or
    SIGTERM (which raises SystemExit(143) here) the temporary file is removed and
    ``path`` is left as it was.

    Examples
    --------
    >>> import os, tempfile
    >>> import numpy as np
    >>> from fastinit import checkpoint, init
    >>> tmp = tempfile.TemporaryDirectory()
    >>> path = os.path.join(tmp.name, "model.safetensors")
    >>> header = checkpoint.write_safetensors(
    ...     path, {"fc.weight": (4, 8), "fc.bias": (4,)}, seed=0, init="normal")
    >>> sorted(header)
    ['__metadata__', 'fc.bias', 'fc.weight']
    >>> t = checkpoint.read_safetensors(path)
    >>> w = init.normal_(np.empty((4, 8), np.float32), 0.0, 0.02,
    ...                  seed=checkpoint.tensor_seed(0, "fc.weight"))
    >>> bool(np.array_equal(t["fc.weight"], w)), t["fc.bias"].tolist()
    (True, [0.0, 0.0, 0.0, 0.0])
    >>> del t  # release the memory map before removing the file
    >>> tmp.cleanup()
    """
    seed = check_u64(seed, "seed")
    dtype = check_float_dtype(dtype)
    items = _normalize(specs)
    check_int(chunk_bytes, "chunk_bytes", 1024)
    header, offset, plan = {}, 0, []
    for name, shape, dt, fill in items:
        dt = dt or dtype
        fill = fill if fill is not None else init
        if isinstance(fill, str):
            fill = scheme_fill(fill, name, shape, std)
        elif not callable(fill):
            raise TypeError(f"init of {name!r} must be a scheme name or callable, got {fill!r}")
        nbytes = math.prod(shape) * dt.itemsize
        header[name] = {"dtype": SAFETENSORS_DTYPES[dt], "shape": list(shape),
                        "data_offsets": [offset, offset + nbytes]}
        plan.append((name, shape, dt, fill))
        offset += nbytes
    meta = {"format": "pt", "fastinit_seed": str(seed),
            "fastinit_stream_version": str(_core.STREAM_VERSION)}
    meta.update({str(k): str(v) for k, v in (metadata or {}).items()})
    header["__metadata__"] = meta
    raw = json.dumps(header, separators=(",", ":")).encode()
    raw += b" " * (-len(raw) % 8)
    path = check_path(path)
    parent = os.path.dirname(path) or "."
    with _sigterm_raises():
        tmp = bar = None  # set inside the try: a signal at any point removes the file
        try:
            try:
                fd, tmp = tempfile.mkstemp(dir=parent, prefix=f".{os.path.basename(path)}.",
                                           suffix=".partial")
            except OSError as exc:
                raise ValueError(f"path {path!r}: cannot create a file in {parent!r}: "
                                 f"{exc.strerror}") from None
            bar = progress_bar(progress, offset, unit="B", unit_scale=True,
                               desc=os.path.basename(path))
            with open(fd, "wb") as f:
                umask = os.umask(0)
                os.umask(umask)
                os.fchmod(fd, 0o666 & ~umask)  # as open() creates files, not mkstemp's 0o600
                f.write(len(raw).to_bytes(8, "little"))
                f.write(raw)
                buffers: dict[np.dtype, np.ndarray] = {}
                for name, shape, dt, fill in plan:
                    _write_tensor(f, name, shape, dt, fill, seed, chunk_bytes, buffers, bar)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, path)
            tmp = None
            dirfd = os.open(parent, os.O_RDONLY | os.O_DIRECTORY)
            try:
                os.fsync(dirfd)
            finally:
                os.close(dirfd)
        finally:
            if bar is not None:
                bar.close()
            if tmp is not None:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(tmp)
    return header


def _write_tensor(f, name, shape, dtype, fill, seed, chunk_bytes, buffers, bar):
    s = tensor_seed(seed, name)
    size = math.prod(shape)
    if size == 0:
        return
    if len(shape) == 0 or is_structured(fill):
        whole = np.empty(shape, dtype)
        fill(whole, seed=s)
        f.write(memoryview(whole.reshape(-1).view(np.uint8)))
        bar.update(whole.nbytes)
        return
    row = math.prod(shape[1:])
    rows = min(shape[0], max(1, chunk_bytes // max(row * dtype.itemsize, 1)))
    if buffers.get(dtype) is None or buffers[dtype].size < rows * row:
        buffers[dtype] = _output.aligned_empty((rows * row,), dtype)  # reused by later tensors
    for r0 in range(0, shape[0], rows):
        n = min(rows, shape[0] - r0)
        block = buffers[dtype][:n * row].reshape((n,) + tuple(shape[1:]))
        with _shard.shard(shape, (r0,) + (0,) * (len(shape) - 1)):
            fill(block, seed=s)
        f.write(memoryview(block.reshape(-1).view(np.uint8)))
        bar.update(block.nbytes)


def module_specs(module, recipes=None) -> list[dict]:
    """Specs of a torch module's persistent floating-point parameters and buffers (each
    tied tensor once, under its first name), for a module built on the meta device:
    each tensor's fill replays what the module's own init code writes to it, or the
    first matching recipe (see :func:`fastinit.torch.init_module_`), so the file holds what
    ``fastinit.torch.init_module_(module, seed=seed, recipes=recipes)`` gives.

    Examples
    --------
    >>> import torch
    >>> from fastinit import checkpoint
    >>> with torch.device("meta"):
    ...     model = torch.nn.Linear(8, 4)
    >>> [(s["name"], s["shape"]) for s in checkpoint.module_specs(model)]
    [('weight', (4, 8)), ('bias', (4,))]
    """
    from ._torch_own_init import _entries
    from ._torch_plan import _plan

    persistent = set(module.state_dict(keep_vars=True))
    shapes = {name: tuple(t.shape) for name, t, *_ in _entries(module)
              if name in persistent and t.is_floating_point()}
    return [{"name": name, "shape": shapes[name], "init": fill}
            for name, fill in _plan(module, recipes, strict=True, only=shapes)]


def read_safetensors(path) -> dict[str, np.ndarray]:
    """{name: array} of a safetensors file (memory-mapped, read-only).

    Examples
    --------
    >>> import os, tempfile
    >>> from fastinit import checkpoint
    >>> tmp = tempfile.TemporaryDirectory()
    >>> path = os.path.join(tmp.name, "b.safetensors")
    >>> _ = checkpoint.write_safetensors(path, {"ln.bias": (3,)}, seed=0)
    >>> checkpoint.read_safetensors(path)["ln.bias"].tolist()
    [0.0, 0.0, 0.0]
    >>> tmp.cleanup()
    """
    with open(path, "rb") as f:
        n = int.from_bytes(f.read(8), "little")
        header = json.loads(f.read(n))
    header.pop("__metadata__", None)
    data = np.memmap(path, np.uint8, mode="r", offset=8 + n)
    kinds = {v: k for k, v in SAFETENSORS_DTYPES.items()}
    out = {}
    for name, info in header.items():
        start, end = info["data_offsets"]
        dt = kinds[info["dtype"]]
        out[name] = data[start:end].view(dt).reshape(info["shape"])
    return out
