"""bench/results/latest.json: one flat object of figure name -> number, merged across scripts."""

from __future__ import annotations

import json
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results" / "latest.json"


def record(figures: dict[str, float], targets: dict[str, str]) -> None:
    """Merge the figures into latest.json and print them as a table."""
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    merged = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    merged.update(figures)
    RESULTS.write_text(json.dumps(merged, indent=2, sort_keys=True) + "\n")
    print(f"\n{'figure':<28} {'value':>10}  target")
    for name, value in figures.items():
        print(f"{name:<28} {value:>10}  {targets.get(name, '')}")
    print(f"\nwritten to {RESULTS}")
