//! What model family #2 (Qwen3-VL, an instruction-tuned LLM) is asked for an instruction. The
//! instruction goes to the model as it is, as the user message; what changes is the system
//! message: when the instruction asks to find, locate, count, segment or point at things, it asks
//! for the JSON grounding answer the model was trained to give (`parse::grounding_json` reads it),
//! otherwise there is none and the answer is free text (a caption, an answer to a question, the
//! text read from the image). No rules translate the words into tasks: that is Florence-2's
//! router, for a model that understands only its task prompts.

use serde::{Deserialize, Serialize};

use crate::geometry::ImageSize;
use crate::instances::{Instance, Shape};
use crate::label_record::instance_json;
use crate::instruction::MAX_INSTRUCTION_CHARS;
use crate::parse::grounding_json::Grounded;

/// The kind of answer asked for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChatAnswer {
    /// Boxes (`bbox_2d`); `segment`: the user asked for masks, which a box-only model cannot
    /// draw by itself (the app asks Florence-2 for each box's polygon when it has it).
    Boxes { segment: bool },
    /// Points (`point_2d`).
    Points,
    /// Free text.
    Text,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChatRequest {
    pub system: Option<&'static str>,
    /// The instruction as typed (surrounding whitespace trimmed).
    pub user: String,
    pub answer: ChatAnswer,
}

pub const BOXES_SYSTEM: &str = "You are a visual grounding assistant. Locate every object the user asks about in the image. Answer only with JSON: a list of objects {\"bbox_2d\": [x1, y1, x2, y2], \"label\": \"name\"}, with coordinates relative to 0..1000 of the image's width and height. Answer [] when there is none.";

pub const POINTS_SYSTEM: &str = "You are a visual grounding assistant. Point at every object the user asks about in the image. Answer only with JSON: a list of objects {\"point_2d\": [x, y], \"label\": \"name\"}, with coordinates relative to 0..1000 of the image's width and height. Answer [] when there is none.";

/// Words (lowercase) that ask for places in the image.
const LOCATE: [&str; 16] = ["find", "locate", "detect", "count", "where", "box", "boxes", "mark", "highlight", "spot", "label", "localize", "localise", "ground", "circle", "show"];
const SEGMENT: [&str; 5] = ["segment", "outline", "mask", "masks", "contour"];
const POINT: [&str; 3] = ["point", "points", "pinpoint"];
/// "how many" also counts.
const COUNT_PHRASE: &str = "how many";

/// The request for `instruction`; an empty or over-long one is refused, as the router does.
pub fn chat_request(instruction: &str) -> Result<ChatRequest, String> {
    let user = instruction.trim();
    if user.is_empty() {
        return Err("the instruction is empty".into());
    }
    let chars = user.chars().count();
    if chars > MAX_INSTRUCTION_CHARS {
        return Err(format!("the instruction has {chars} characters; at most {MAX_INSTRUCTION_CHARS}"));
    }
    let lower = user.to_lowercase();
    let words: Vec<&str> = lower.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()).collect();
    let has = |list: &[&str]| words.iter().any(|w| list.contains(w));
    let answer = if has(&POINT) {
        ChatAnswer::Points
    } else if has(&SEGMENT) {
        ChatAnswer::Boxes { segment: true }
    } else if has(&LOCATE) || lower.contains(COUNT_PHRASE) {
        ChatAnswer::Boxes { segment: false }
    } else {
        ChatAnswer::Text
    };
    let system = match answer {
        ChatAnswer::Boxes { .. } => Some(BOXES_SYSTEM),
        ChatAnswer::Points => Some(POINTS_SYSTEM),
        ChatAnswer::Text => None,
    };
    Ok(ChatRequest { system, user: user.to_string(), answer })
}

/// The parsed grounding answer as the instances the canvas, exports and batch use.
pub fn grounded_instances(grounded: &[Grounded]) -> Vec<Instance> {
    grounded
        .iter()
        .map(|g| match g {
            Grounded::Box { label, bbox } => Instance { label: label.clone(), shape: Shape::Box(*bbox), score: None },
            Grounded::Point { label, point } => Instance { label: label.clone(), shape: Shape::Point(*point), score: None },
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Hand-checked: which instructions ask for places, masks, points or text.
    #[test]
    fn instructions_ask_for_what_they_say() {
        let boxes = ChatAnswer::Boxes { segment: false };
        for (instruction, want) in [
            ("find the person holding an umbrella and the dog next to her", boxes),
            ("How many cars are there?", boxes),
            ("Where is the cat?", boxes),
            ("locate every café sign", boxes),
            ("segment the dog on the left", ChatAnswer::Boxes { segment: true }),
            ("point at each apple", ChatAnswer::Points),
            ("what does the sign say?", ChatAnswer::Text),
            ("describe the image", ChatAnswer::Text),
            ("findings of this x-ray?", ChatAnswer::Text),
        ] {
            let r = chat_request(instruction).unwrap();
            assert_eq!(r.answer, want, "{instruction}");
            assert_eq!(r.user, instruction, "the instruction goes as it is");
            assert_eq!(r.system.is_some(), want != ChatAnswer::Text, "{instruction}");
        }
        assert!(chat_request("   ").is_err());
        assert!(chat_request(&"a".repeat(MAX_INSTRUCTION_CHARS + 1)).is_err());
    }
}

/// A JSON Lines record of one image labelled by family #2: `{"image", "width", "height",
/// "instances", "calls": [{"model", "generated_text"}]}`, the shape Florence-2's `label_line`
/// writes, so batch exports, resume and `label merge` read both.
pub fn chat_label_line(name: &str, size: ImageSize, instances: &[Instance], generated_text: &str) -> serde_json::Value {
    serde_json::json!({
        "image": name,
        "width": size.width,
        "height": size.height,
        "instances": instances.iter().map(instance_json).collect::<Vec<_>>(),
        "calls": [{ "model": "qwen3_vl", "generated_text": generated_text }],
    })
}
