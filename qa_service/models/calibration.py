"""The not-found thresholds measured per model (benchmarks/retrieval.py --write-calibration).

Each index build copies its model's entry into the manifest, so an index keeps the
thresholds it was built with even when this table is measured again.
"""

from __future__ import annotations

import json
from pathlib import Path

CALIBRATION_FILE = Path(__file__).with_name("calibration.json")


def calibration_for(model: str) -> dict:
    """The thresholds measured for ``model``, or the default entry for an unmeasured one."""
    table = json.loads(CALIBRATION_FILE.read_text(encoding="utf-8"))
    return dict(table.get(model) or table["default"])


def reader_calibration(digest: str) -> dict | None:
    """The has-answer threshold and probability scaling measured for the reader weights
    with this digest (models/reader.py: weights_digest), or None if never measured."""
    table = json.loads(CALIBRATION_FILE.read_text(encoding="utf-8"))
    entry = table.get("reader", {}).get(digest)
    return dict(entry) if entry else None
