//! One image's line of a labelling run, written by `visionllm label` and by the app's batch alike
//! (so a browser batch's JSON Lines merge with `visionllm label merge`): the image's name and size,
//! its instances as the app shows them, each box scored by the model where the answers carry
//! scored boxes (`Decoding::GreedyWithScores`), and every task call's transformers-shaped answer.
//! `visionllm_tasks::label_record` reads it back.

use serde_json::{json, Value};
use visionllm_tasks::box_scores::score_instances;
use visionllm_tasks::export::transformers_json;
use visionllm_tasks::label_record::instance_json;
use visionllm_tasks::{apply, ImageSize, Instance, RouteOptions};

use crate::CallAnswer;

/// The instances of a job's answers (`apply`: class filter, limit, box or mask), scored.
pub fn scored_instances(options: &RouteOptions, answers: &[CallAnswer], size: ImageSize) -> Vec<Instance> {
    let mut instances = Vec::new();
    for answer in answers {
        let mut found = apply(options, &answer.call, &answer.answer);
        score_instances(&mut found, &answer.scored_boxes, size);
        instances.extend(found);
    }
    instances
}

/// `{"image", "width", "height", "instances", "calls": [{"task", "generated_text", "answer"}]}`.
pub fn label_line(name: &str, size: ImageSize, options: &RouteOptions, answers: &[CallAnswer]) -> Value {
    let instances = scored_instances(options, answers, size);
    let calls: Vec<Value> = answers
        .iter()
        .map(|a| json!({ "task": a.call.task_text(), "generated_text": a.generated_text, "answer": transformers_json(a.call.task.token(), &a.answer) }))
        .collect();
    json!({ "image": name, "width": size.width, "height": size.height, "instances": instances.iter().map(instance_json).collect::<Vec<_>>(), "calls": calls })
}
