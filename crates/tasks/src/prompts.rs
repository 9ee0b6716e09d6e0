//! What the model reads: a task call's prompt, and a raw task string's prompt, exactly as the
//! reference processor builds them (`Florence2Processor._construct_prompts`).

use crate::parse::scan::py_strip;
use crate::task::{Task, TaskInput, TASKS};
use serde::{Deserialize, Serialize};

/// Why a task string could not become a prompt.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PromptError {
    /// Same message as the reference's ValueError.
    #[error("Task token {0} should be the only content in the prompt.")]
    ExtraTextForTaskWithoutInput(&'static str),
}

/// One model call: the task and its input text (a phrase, a caption, or four `<loc_k>` tokens).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskCall {
    pub task: Task,
    pub text_input: Option<String>,
}

impl TaskCall {
    pub fn new(task: Task, text_input: Option<String>) -> Self {
        Self { task, text_input }
    }

    /// The prompt for this call, from the task table: the template with the stripped input in its
    /// `{input}` slot, as the reference builds it for `task_text()`. The input is taken as the
    /// user's words: a task token inside it stays text, where the reference would re-read it as
    /// another task (or refuse it). A task without input ignores `text_input` (the router never
    /// sets one there).
    pub fn prompt(&self) -> String {
        match self.task.input() {
            TaskInput::None => self.task.prompt_template().to_string(),
            TaskInput::Text | TaskInput::Region => {
                fill(self.task.prompt_template(), self.text_input.as_deref().unwrap_or(""))
            }
        }
    }

    /// The task string a user of the reference passes to the processor
    /// (`"<OPEN_VOCABULARY_DETECTION>a cat"`), for exports that say how to reproduce a run.
    pub fn task_text(&self) -> String {
        format!("{}{}", self.task.token(), self.text_input.as_deref().unwrap_or(""))
    }
}

/// The reference's `task_prompt.format(input=input.strip())`.
fn fill(template: &str, input: &str) -> String {
    template.replace("{input}", py_strip(input))
}

/// Task text (`"<OD>"`, `"<CAPTION_TO_PHRASE_GROUNDING>a dog"`, or free text) -> prompt, as the
/// reference: a task token without input must be the whole text; a task token with input is
/// removed (every occurrence) and the stripped rest fills `{input}`; other text passes unchanged.
/// Tokens are looked up in the table's order, which is the reference's dict order: it decides
/// which token wins when a text holds several.
pub fn construct_prompt(text: &str) -> Result<String, PromptError> {
    let mut prompt = text.to_string();
    if let Some(spec) = TASKS.iter().filter(|s| s.input == TaskInput::None).find(|s| prompt.contains(s.token)) {
        if prompt != spec.token {
            return Err(PromptError::ExtraTextForTaskWithoutInput(spec.token));
        }
        prompt = spec.prompt.to_string();
    }
    if let Some(spec) = TASKS.iter().filter(|s| s.input != TaskInput::None).find(|s| prompt.contains(s.token)) {
        prompt = fill(spec.prompt, &prompt.replace(spec.token, ""));
    }
    Ok(prompt)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prompts_like_reference() {
        assert_eq!(construct_prompt("<OD>").unwrap(), "Locate the objects with category name in the image.");
        assert_eq!(
            construct_prompt("<REGION_TO_CATEGORY><loc_1><loc_2><loc_3><loc_4>").unwrap(),
            "What is the region <loc_1><loc_2><loc_3><loc_4>?"
        );
        assert_eq!(construct_prompt("hello").unwrap(), "hello");
        let err = construct_prompt("<OD> extra").unwrap_err();
        assert_eq!(err.to_string(), "Task token <OD> should be the only content in the prompt.");
        // The reference's dict order: grounding is looked up before open-vocabulary detection.
        assert_eq!(
            construct_prompt("<OPEN_VOCABULARY_DETECTION>x<CAPTION_TO_PHRASE_GROUNDING>").unwrap(),
            "Locate the phrases in the caption: <OPEN_VOCABULARY_DETECTION>x"
        );
    }

    #[test]
    fn call_prompts_fill_the_template() {
        let ovd = TaskCall::new(Task::OpenVocabularyDetection, Some(" cat ".into()));
        assert_eq!(ovd.prompt(), "Locate cat in the image.");
        assert_eq!(ovd.task_text(), "<OPEN_VOCABULARY_DETECTION> cat ");
        assert_eq!(TaskCall::new(Task::Caption, None).prompt(), "What does the image describe?");
        assert_eq!(TaskCall::new(Task::RegionToOcr, None).prompt(), "What text is in the region ?");
        // A task token in the input is the user's text, not a second task.
        let odd = TaskCall::new(Task::OpenVocabularyDetection, Some("<OD>".into()));
        assert_eq!(odd.prompt(), "Locate <OD> in the image.");
        assert!(construct_prompt(&odd.task_text()).is_err());
    }
}
