//! A job's answers turned into what the page draws: `tasks::apply` (crates/tasks owns what the
//! routed options mean: class filter, instance limit, box or mask) gives the instances; here they
//! get an id for hover and list links and a class for colour and toggles, and the text answers
//! (captions, OCR) are collected.

use visionllm_tasks::chat_request::ChatAnswer;
use visionllm_tasks::{apply, BoundingBox, Instance, Shape};

use crate::messages::JobResult;

#[derive(Clone, Debug, PartialEq)]
pub struct Item {
    /// Index in the item list (hover and list entries refer to it).
    pub id: usize,
    pub label: String,
    /// The key for colour and toggles: the label, trimmed and lower case.
    pub class: String,
    pub shape: Shape,
}

impl Item {
    /// Tight box around the shape, in image pixels.
    pub fn bounds(&self) -> Option<BoundingBox> {
        self.shape.bounds()
    }
}

/// A plain-text answer (caption, OCR, region description) and the task that gave it.
#[derive(Clone, Debug, PartialEq)]
pub struct TextAnswer {
    pub task: String,
    pub text: String,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Display {
    pub items: Vec<Item>,
    pub texts: Vec<TextAnswer>,
}

fn class_of(label: &str) -> String {
    label.trim().to_lowercase()
}

/// Items and texts for `result` (final, or the answer so far while it decodes).
pub fn display(result: &JobResult) -> Display {
    let mut out = Display::default();
    for run in &result.runs {
        if let Some(text) = run.answer.text() {
            out.texts.push(TextAnswer { task: run.call.task.token().to_string(), text });
        }
        for Instance { label, shape, .. } in apply(&result.options, &run.call, &run.answer) {
            out.items.push(Item { id: out.items.len(), class: class_of(&label), label, shape });
        }
    }
    if let Some(chat) = &result.chat {
        for Instance { label, shape, .. } in chat.instances.iter().cloned() {
            out.items.push(Item { id: out.items.len(), class: class_of(&label), label, shape });
        }
        // A text answer, or a grounding answer that found nothing to draw: show what it said.
        let text_answer = chat.answer == ChatAnswer::Text || chat.instances.is_empty();
        if text_answer && !chat.generated_text.trim().is_empty() {
            out.texts.push(TextAnswer { task: "Qwen3-VL".into(), text: chat.generated_text.trim().to_string() });
        }
        if let Some(note) = &chat.note {
            out.texts.push(TextAnswer { task: "note".into(), text: note.clone() });
        }
    }
    out
}

/// Said instead of an empty answer: a finished job that drew nothing and said nothing found
/// nothing, and the user should read that, with what was looked for (the classes the instruction
/// named, else the phrases the task calls read, else the instruction).
pub fn nothing_found(result: &JobResult, shown: &Display) -> Option<String> {
    if result.status != crate::messages::JobStatus::Done || !shown.items.is_empty() || shown.texts.iter().any(|t| !t.text.trim().is_empty()) {
        return None;
    }
    let phrases: Vec<&str> = result.runs.iter().filter_map(|r| r.call.text_input.as_deref()).map(str::trim).filter(|p| !p.is_empty()).collect();
    let what = if !result.options.class_filter.is_empty() {
        result.options.class_filter.join(", ")
    } else if !phrases.is_empty() {
        phrases.join(", ")
    } else {
        result.instruction.trim().to_string()
    };
    Some(format!("Nothing found for \u{201c}{what}\u{201d}."))
}
