//! Export documents of one image: the transformers-shaped answers (`{task: answer}` per task
//! call, as `post_process_generation` returns them) and a COCO dataset.

use serde_json::{json, Value};
use visionllm_florence2::label_line;
use visionllm_tasks::chat_request::chat_label_line;
use visionllm_tasks::coco_dataset::coco_text;
use visionllm_tasks::label_record::instance_json;
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
    let mut doc = json!({
        "instruction": result.instruction,
        "explanation": result.explanation,
        "image": { "width": result.image_width, "height": result.image_height },
        "results": runs,
    });
    if let Some(chat) = &result.chat {
        doc["chat"] = json!({
            "model": "qwen3_vl",
            "system": chat.system,
            "generated_text": chat.generated_text,
            "instances": chat.instances.iter().map(instance_json).collect::<Vec<_>>(),
        });
    }
    doc
}

/// The JSON Lines record of one image, whichever family answered.
pub fn result_label_line(name: &str, result: &JobResult) -> Value {
    let size = ImageSize::new(result.image_width, result.image_height);
    match &result.chat {
        Some(chat) => chat_label_line(name, size, &chat.instances, &chat.generated_text),
        None => label_line(name, size, &result.options, &result.runs),
    }
}

/// The COCO dataset of this one image (`images`, `annotations` with the model's scores where fast
/// decoding gave them, `categories`): a batch of one, written as the batch export and `visionllm
/// label --coco` write theirs; `categories` are the user's (`--categories`), COCO's added.
pub fn coco_document(result: &JobResult, name: &str, categories: Categories) -> Result<String, String> {
    let line = result_label_line(name, result);
    let record = read_record(&line.to_string())?;
    coco_text(&[record], categories).map(|(text, _)| text)
}
