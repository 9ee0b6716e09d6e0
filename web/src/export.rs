//! Export documents: the transformers-shaped answers (`{task: answer}` per task call, as
//! `post_process_generation` returns them) and COCO results JSON.

use serde_json::{json, Value};
use visionllm_tasks::export::{coco_results, transformers_json, Categories};
use visionllm_tasks::ImageSize;

use crate::messages::JobResult;

/// `{"instruction", "image": {width, height}, "results": [{task_text, answer: {task: ...}}]}`.
pub fn transformers_document(result: &JobResult) -> Value {
    let runs: Vec<Value> = result
        .runs
        .iter()
        .map(|r| json!({ "task": r.call.task_text(), "answer": transformers_json(r.call.task.token(), &r.answer), "generated_text": r.generated_text }))
        .collect();
    json!({
        "instruction": result.instruction,
        "explanation": result.explanation,
        "image": { "width": result.image_width, "height": result.image_height },
        "results": runs,
    })
}

/// COCO results (`loadRes` format) plus the category table they refer to.
pub fn coco_document(result: &JobResult, image_id: u64) -> Value {
    let size = ImageSize::new(result.image_width, result.image_height);
    let mut categories = Categories::coco();
    let mut detections = Vec::new();
    for run in &result.runs {
        // Florence-2 gives no confidences: every detection scores 1.
        detections.extend(coco_results(image_id, &run.answer, size, &mut categories, &[], 1.0));
    }
    // The categories the annotations use (labels that are COCO classes keep COCO's ids).
    let used: Vec<_> = categories.entries.iter().filter(|c| detections.iter().any(|d| d.category_id == c.id)).collect();
    json!({
        "images": [{ "id": image_id, "width": result.image_width, "height": result.image_height }],
        "categories": used,
        "annotations": detections,
    })
}
