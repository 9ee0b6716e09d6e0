"""COCO exports against a real evaluator: pycocotools scores what `visionllm label merge` and
`visionllm parse --coco` write against hand-made annotations (issue #15).

    python3 tests/coco/pycocotools_check.py target/debug/visionllm

The annotations (three images; COCO classes `person` and `car` with COCO's ids, and a dataset
class `red circle` with id 100) and a labelling output whose boxes are exactly the annotated ones,
each with a score, plus one false `dog` and one false `car` scored below every true box. Checks:
AP@[.5:.95] and AP@.5 are 1.0 (exact boxes, right category ids, true boxes ranked above the false
ones); the output with the true boxes' scores put below the false ones scores less (so the
scores reach the evaluator); and `parse --coco` gives a `car` COCO's id 3. The old export
(categories numbered 1, 2, ... in order of appearance, score 1.0) scored AP 0 on the same boxes.
Needs pycocotools (`pip install pycocotools`; CI installs it).
"""
import contextlib
import io
import json
import os
import subprocess
import sys
import tempfile

from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

TRUTH = {
    "b/street.png": (640, 480, [("car", [40, 300, 200, 420]), ("car", [400, 280, 620, 470]), ("person", [250, 120, 310, 330])]),
    "a/park.jpg": (320, 240, [("person", [10, 20, 60, 200]), ("red circle", [200, 100, 260, 160])]),
    "c/empty.png": (100, 100, []),
}
CATEGORIES = [{"id": 1, "name": "person"}, {"id": 3, "name": "car"}, {"id": 100, "name": "red circle"}]


def ground_truth():
    images, annotations = [], []
    # Image ids of this dataset are its own (not the export's): results are matched by file name.
    for image_id, (name, (w, h, objects)) in enumerate(sorted(TRUTH.items()), start=11):
        images.append({"id": image_id, "file_name": name, "width": w, "height": h})
        for label, (x1, y1, x2, y2) in objects:
            cat = next(c["id"] for c in CATEGORIES if c["name"] == label)
            annotations.append({"id": len(annotations) + 1, "image_id": image_id, "category_id": cat, "bbox": [x1, y1, x2 - x1, y2 - y1],
                                "area": (x2 - x1) * (y2 - y1), "iscrowd": 0})
    return {"images": images, "annotations": annotations, "categories": CATEGORIES}


def labelling_output(swap_scores):
    """What `visionllm label` writes, one line per image: the true boxes at score 0.9 (0.2 when
    swapped) and two false boxes at 0.3 (0.95 when swapped)."""
    lines = []
    for name, (w, h, objects) in TRUTH.items():
        instances = [{"label": label, "box": box, "score": 0.2 if swap_scores else 0.9} for label, box in objects]
        if name == "b/street.png":
            instances.append({"label": "dog", "box": [0, 0, 30, 30], "score": 0.95 if swap_scores else 0.3})
            instances.append({"label": "car", "box": [500, 10, 600, 90], "score": 0.95 if swap_scores else 0.3})
        lines.append(json.dumps({"image": name, "width": w, "height": h, "instances": instances, "calls": [], "ms": 1.0}))
    lines.append(json.dumps({"image": "d/broken.png", "error": "truncated PNG"}))
    return "\n".join(lines) + "\n"


def evaluate(gt, export):
    """AP@[.5:.95] and AP@.5 of an exported dataset's annotations against `gt`."""
    ids = {img["file_name"]: img["id"] for img in gt.dataset["images"]}
    exported = {img["id"]: img["file_name"] for img in export["images"]}
    results = [dict(a, image_id=ids[exported[a["image_id"]]]) for a in export["annotations"]]
    with contextlib.redirect_stdout(io.StringIO()):
        dt = gt.loadRes(results)
        ev = COCOeval(gt, dt, "bbox")
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    return ev.stats[0], ev.stats[1]


def main():
    exe = sys.argv[1]
    failures = 0

    def check(ok, what):
        nonlocal failures
        print(f"{'ok  ' if ok else 'FAIL'} {what}")
        failures += 0 if ok else 1

    with tempfile.TemporaryDirectory() as tmp:
        truth_path = os.path.join(tmp, "truth.json")
        json.dump(ground_truth(), open(truth_path, "w"))
        with contextlib.redirect_stdout(io.StringIO()):
            gt = COCO(truth_path)
        aps = {}
        for swap in (False, True):
            out = os.path.join(tmp, f"labels-{swap}.jsonl")
            open(out, "w").write(labelling_output(swap))
            coco = os.path.join(tmp, f"coco-{swap}.json")
            subprocess.run([exe, "label", "merge", out, "--coco", coco, "--categories", truth_path], check=True)
            export = json.load(open(coco))
            if not swap:
                check(len(export["images"]) == 3, f"three images exported, the failed one left out ({len(export['images'])})")
                cats = {c["name"]: c["id"] for c in export["categories"]}
                check(cats.get("car") == 3 and cats.get("person") == 1 and cats.get("red circle") == 100 and cats.get("dog") == 18,
                      f"COCO's ids and the dataset's own ({cats})")
            aps[swap] = evaluate(gt, export)
        ap, ap50 = aps[False]
        check(ap == 1.0 and ap50 == 1.0, f"exact boxes score AP 1.0 (AP {ap:.3f}, AP50 {ap50:.3f})")
        check(aps[True][0] < ap, f"false boxes ranked first score less (AP {aps[True][0]:.3f}): the scores reach the evaluator")

        parsed = subprocess.run([exe, "parse", "--task", "<OD>", "--image-size", "1000x1000", "--coco", "--text",
                                 "car<loc_10><loc_20><loc_30><loc_40>person<loc_1><loc_2><loc_3><loc_4>"], check=True, capture_output=True, text=True)
        results = json.loads(parsed.stdout)
        check([r["category_id"] for r in results] == [3, 1], f"parse --coco: car 3, person 1 ({[r['category_id'] for r in results]})")
    print(f"{failures} check(s) failed" if failures else "pycocotools: all checks passed")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
