//! Export documents of one image: the transformers-shaped answers (`{task: answer}` per task
//! call, as `post_process_generation` returns them) and a COCO dataset.

use serde_json::{json, Value};
use visionllm_florence2::label_line;
use visionllm_tasks::coco_dataset::coco_text;
use visionllm_tasks::export::{transformers_json, Categories};
use visionllm_tasks::label_record::read_record;
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

/// The COCO dataset of this one image (`images`, `annotations` with the model's scores where fast
/// decoding gave them, `categories`): a batch of one, written as the batch export and `visionllm
/// label --coco` write theirs; `categories` are the user's (`--categories`), COCO's added.
pub fn coco_document(result: &JobResult, name: &str, categories: Categories) -> Result<String, String> {
    let size = ImageSize::new(result.image_width, result.image_height);
    let line = label_line(name, size, &result.options, &result.runs);
    let record = read_record(&line.to_string())?;
    coco_text(&[record], categories).map(|(text, _)| text)
}
