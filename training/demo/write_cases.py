"""Write tests/fixtures/scenes/cases.json: shapes, words and every answer text of 150 scenes, built by
scenes.py, for the Rust twin's cross-check (crates/scenes/tests/python_cases.rs). Deterministic.

Usage: python3 training/demo/write_cases.py
"""
import json
import pathlib
import sys

import numpy as np

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import scenes  # noqa: E402

OUT = HERE.parents[1] / "tests/fixtures/scenes/cases.json"

if __name__ == "__main__":
    rng = np.random.default_rng(2026)
    # Words on two thirds of the scenes (0..=2 each), to cross-check the font, placement rules and OCR texts.
    cases = [scenes.case_json(scenes.sample_scene(rng, w_max=2), rng) for _ in range(150)]
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(cases, separators=(",", ":")) + "\n")
    print(f"wrote {len(cases)} cases to {OUT} ({OUT.stat().st_size} bytes)")
