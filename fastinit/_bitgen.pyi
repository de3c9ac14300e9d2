"""Types of the stream one block at a time (fastinit/_bitgen.pyx)."""

from collections.abc import Mapping
from typing import Any

import numpy as np
import numpy.typing as npt
from typing_extensions import disjoint_base

def philox4x32_10(
    counter: npt.NDArray[np.uint32], key: npt.NDArray[np.uint32]
) -> npt.NDArray[np.uint32]: ...

@disjoint_base
class PhiloxBitGenerator(np.random.BitGenerator):
    def __init__(
        self, seed: int | np.random.SeedSequence | None = None, stream: int | None = None
    ) -> None: ...
    @property
    def state(self) -> Mapping[str, Any]: ...
    @state.setter
    def state(self, value: Mapping[str, Any]) -> None: ...
