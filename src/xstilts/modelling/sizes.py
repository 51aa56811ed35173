"""Parameter counts read from safetensors headers, without loading the weights (no torch)."""

from __future__ import annotations

import json
import math
import os
import re

_LAYER_INDEX = re.compile(r"(?:^|\.)(?:layer|layers|h|block|blocks)\.(\d+)\.")


def safetensors_params(directory: str, keep_layers: int | None = None, prefix: str = "") -> float:
    """Parameters in a directory's safetensors files (read from their headers); with ``keep_layers``,
    as if only the first N transformer layers were kept (a truncated copy); with ``prefix``, only the
    tensors whose name contains it."""
    import struct

    total = 0
    for name in os.listdir(directory):
        if not name.endswith(".safetensors"):
            continue
        with open(os.path.join(directory, name), "rb") as f:
            header = json.loads(f.read(struct.unpack("<Q", f.read(8))[0]))
        for key, info in header.items():
            layer = _LAYER_INDEX.search(key)
            if key != "__metadata__" and prefix in key and not (keep_layers is not None and layer and int(layer.group(1)) >= keep_layers):
                total += math.prod(info["shape"])
    return float(total)
