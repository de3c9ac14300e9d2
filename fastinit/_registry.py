"""The initializers, one entry each: what the law is and where each face exposes it.

Every face reads this table: :mod:`fastinit.torch` wraps the entries with ``torch=True``,
:mod:`fastinit.jax` adapts every ``jax`` factory of :mod:`fastinit.initializers`, the
keras classes and jax factories that are variance-scaling presets are generated from
``preset``, and dask and checkpoint chunking ask :func:`is_elementwise`.  Adding an
initializer: write its in-place function in the ``fastinit._init_*`` module of its family
and export it from :mod:`fastinit.init` (and its jax factory in fastinit._jax_factories /
keras class in fastinit._keras_classes, both exported by :mod:`fastinit.initializers`,
unless it is a preset), then add its entry here; ``tests/test_registry.py`` fails while a
face lacks it.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Entry:
    """One initializer.

    ``init``: its in-place function in :mod:`fastinit.init` (torch's name and argument
    order); ``twin``: whether ``init`` has a functional twin (the name without ``_``)
    there; ``torch``: whether :mod:`fastinit.torch` exposes it (torch.nn.init's name and
    arguments); ``nn_init``: with ``torch``, torch.nn.init has it too, so the recorder of
    :func:`fastinit.torch.init_module_` intercepts it (False: fastinit.torch's own
    variance_scaling_); ``random``: the law draws from the stream (False: a deterministic
    fill, its seed ignored; the recorder replays such writes as recorded);
    ``jax``: its factory in :mod:`fastinit.initializers` and :mod:`fastinit.jax` (None:
    jax has no such law), ``jax_aliases`` other names of that factory; ``keras``: its
    class in :mod:`fastinit.initializers`; ``preset``: ``(scale, mode, distribution)``
    of a jax/keras variance-scaling preset, from which its jax factory and keras class
    are generated; ``elementwise``: each element is a function of (seed, its global
    index) alone, so a shard or chunk is filled without building the rest (orthogonal,
    sparse and mahalanobis laws couple elements)."""

    init: str
    law: str
    elementwise: bool
    twin: bool = True
    torch: bool = True
    nn_init: bool = True
    random: bool = True
    jax: str | None = None
    jax_aliases: tuple[str, ...] = ()
    keras: str | None = None
    preset: tuple[float, str, str] | None = None
    ref: str = ""


ENTRIES: tuple[Entry, ...] = (
    Entry("uniform_", "U[a, b) (jax: U[0, scale); keras: U[minval, maxval))", True,
          jax="uniform", keras="RandomUniform"),
    Entry("normal_", "N(mean, std^2)", True, jax="normal", keras="RandomNormal"),
    Entry("trunc_normal_", "N(mean, std^2) cut to [a, b] (torch: absolute bounds; jax: "
          "in units of std; keras: mean +- 2 std)", True, jax="truncated_normal",
          keras="TruncatedNormal"),
    Entry("constant_", "every element = val", True, jax="constant", keras="Constant",
          random=False),
    Entry("ones_", "every element = 1", True, jax="ones", keras="Ones", random=False),
    Entry("zeros_", "every element = 0", True, jax="zeros", keras="Zeros", random=False),
    Entry("eye_", "the 2-D identity (times gain in keras)", True, keras="Identity",
          random=False),
    Entry("dirac_", "a Dirac delta per conv filter", True, random=False),
    Entry("variance_scaling_", "Var = scale / fan(mode)", True, nn_init=False,
          jax="variance_scaling", keras="VarianceScaling"),
    Entry("xavier_uniform_", "U[-b, b), b = gain sqrt(6 / (fan_in + fan_out))", True,
          jax="glorot_uniform", jax_aliases=("xavier_uniform",), keras="GlorotUniform",
          preset=(1.0, "fan_avg", "uniform"), ref="Glorot & Bengio (2010)"),
    Entry("xavier_normal_", "std = gain sqrt(2 / (fan_in + fan_out)); untruncated in torch, "
          "truncated at 2 std in jax/keras", True, jax="glorot_normal",
          jax_aliases=("xavier_normal",), keras="GlorotNormal",
          preset=(1.0, "fan_avg", "truncated_normal"), ref="Glorot & Bengio (2010)"),
    Entry("kaiming_uniform_", "U[-b, b), b = gain sqrt(3 / fan_mode), gain sqrt(2) by "
          "default", True, jax="he_uniform", jax_aliases=("kaiming_uniform",),
          keras="HeUniform", preset=(2.0, "fan_in", "uniform"), ref="He et al. (2015)"),
    Entry("kaiming_normal_", "std = gain / sqrt(fan_mode); untruncated in torch, truncated "
          "at 2 std in jax/keras", True, jax="he_normal", jax_aliases=("kaiming_normal",),
          keras="HeNormal", preset=(2.0, "fan_in", "truncated_normal"), ref="He et al. (2015)"),
    Entry("lecun_uniform_", "U[-b, b), b = sqrt(3 / fan_in)", True, torch=False,
          jax="lecun_uniform", keras="LecunUniform", preset=(1.0, "fan_in", "uniform"),
          ref="LeCun et al. (1998)"),
    Entry("lecun_normal_", "std sqrt(1 / fan_in) after truncation at 2 std", True,
          torch=False, jax="lecun_normal", keras="LecunNormal",
          preset=(1.0, "fan_in", "truncated_normal"),
          ref="LeCun et al. (1998); flax's Dense/Conv default"),
    Entry("orthogonal_", "gain times a Haar-distributed orthogonal matrix", False,
          jax="orthogonal", keras="Orthogonal"),
    Entry("delta_orthogonal_", "zero but an orthogonal matrix at the kernel's centre", False,
          torch=False, jax="delta_orthogonal"),
    Entry("sparse_", "N(0, std^2) with ceil(sparsity rows) zeros per column", False),
    Entry("torch_linear_default_", "nn.Linear's reset_parameters: U(+-1/sqrt(fan_in))", True,
          twin=False, torch=False),
    Entry("torch_conv_default_", "nn.ConvNd's reset_parameters (as torch_linear_default_)",
          True, twin=False, torch=False),
    Entry("embedding_default_", "nn.Embedding's reset_parameters: N(0, 1), padding row 0",
          True, twin=False, torch=False),
    Entry("mahalanobis_normal_", "rows N(0, (scale / in) Sigma_x^-1)", False, twin=False,
          torch=False),
    Entry("zero_gamma_", "every element = 0 (the last norm scale of a branch)", True,
          twin=False, torch=False, random=False),
    Entry("optimistic_bias_", "weight N(0, weight_std^2), bias v_max", True, twin=False,
          torch=False),
)

BY_INIT: dict[str, Entry] = {e.init: e for e in ENTRIES}
BY_JAX: dict[str, Entry] = {e.jax: e for e in ENTRIES if e.jax}
BY_KERAS: dict[str, Entry] = {e.keras: e for e in ENTRIES if e.keras}


def is_elementwise(name: str) -> bool:
    """Whether the fill called ``name`` (a fastinit.init function's name, or names joined
    by "+" for a sequence of fills) fills any box of a tensor on its own; a name not in
    the registry (a user's function) is taken as elementwise."""
    return all(BY_INIT[n].elementwise if n in BY_INIT else True for n in name.split("+"))
