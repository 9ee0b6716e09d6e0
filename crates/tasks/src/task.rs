//! The Florence-2 tasks in one table: token, prompt template, what the prompt takes, which parser
//! reads the answer. Every question about a task (its token, whether it takes a region, how its
//! answer parses) is answered by its row, so a task is described in exactly one place.

use serde::{Deserialize, Serialize};

/// A Florence-2 task, named by its task token. The variants are in the table's order, so
/// `TASKS[task as usize]` is the task's row (checked at compile time below).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Task {
    Ocr,
    OcrWithRegion,
    Caption,
    DetailedCaption,
    MoreDetailedCaption,
    ObjectDetection,
    DenseRegionCaption,
    RegionProposal,
    CaptionToPhraseGrounding,
    ReferringExpressionSegmentation,
    RegionToSegmentation,
    OpenVocabularyDetection,
    RegionToCategory,
    RegionToDescription,
    RegionToOcr,
}

/// What fills a task prompt's `{input}` slot.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TaskInput {
    /// The prompt is fixed; the task token must be the whole task text.
    None,
    /// A phrase, expression or caption.
    Text,
    /// A region: four `<loc_k>` tokens.
    Region,
}

/// Which of the reference's post-processors a task uses (`tasks_answer_post_processing_type`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AnswerKind {
    PureText,
    Ocr,
    DescriptionWithBboxes,
    PhraseGrounding,
    Polygons,
    DescriptionWithBboxesOrPolygons,
    Bboxes,
}

/// One row of the task table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TaskSpec {
    pub task: Task,
    pub token: &'static str,
    /// The reference's prompt; tasks with input have one `{input}` placeholder.
    pub prompt: &'static str,
    pub input: TaskInput,
    pub answer: AnswerKind,
}

const fn row(task: Task, token: &'static str, prompt: &'static str, input: TaskInput, answer: AnswerKind) -> TaskSpec {
    TaskSpec { task, token, prompt, input, answer }
}

use AnswerKind as A;
use TaskInput as I;

/// Every task, in the reference processor's dict order: the tasks without input
/// (`task_prompts_without_inputs`), then those with (`task_prompts_with_input`).
/// `construct_prompt` looks tokens up in this order, as the reference does.
#[rustfmt::skip]
pub const TASKS: [TaskSpec; 15] = {
    use Task::*;
    [
        row(Ocr,                             "<OCR>",                               "What is the text in the image?",                            I::None,   A::PureText),
        row(OcrWithRegion,                   "<OCR_WITH_REGION>",                   "What is the text in the image, with regions?",              I::None,   A::Ocr),
        row(Caption,                         "<CAPTION>",                           "What does the image describe?",                             I::None,   A::PureText),
        row(DetailedCaption,                 "<DETAILED_CAPTION>",                  "Describe in detail what is shown in the image.",            I::None,   A::PureText),
        row(MoreDetailedCaption,             "<MORE_DETAILED_CAPTION>",             "Describe with a paragraph what is shown in the image.",     I::None,   A::PureText),
        row(ObjectDetection,                 "<OD>",                                "Locate the objects with category name in the image.",       I::None,   A::DescriptionWithBboxes),
        row(DenseRegionCaption,              "<DENSE_REGION_CAPTION>",              "Locate the objects in the image, with their descriptions.", I::None,   A::DescriptionWithBboxes),
        row(RegionProposal,                  "<REGION_PROPOSAL>",                   "Locate the region proposals in the image.",                 I::None,   A::Bboxes),
        row(CaptionToPhraseGrounding,        "<CAPTION_TO_PHRASE_GROUNDING>",       "Locate the phrases in the caption: {input}",                I::Text,   A::PhraseGrounding),
        row(ReferringExpressionSegmentation, "<REFERRING_EXPRESSION_SEGMENTATION>", "Locate {input} in the image with mask",                     I::Text,   A::Polygons),
        row(RegionToSegmentation,            "<REGION_TO_SEGMENTATION>",            "What is the polygon mask of region {input}",                I::Region, A::Polygons),
        row(OpenVocabularyDetection,         "<OPEN_VOCABULARY_DETECTION>",         "Locate {input} in the image.",                              I::Text,   A::DescriptionWithBboxesOrPolygons),
        row(RegionToCategory,                "<REGION_TO_CATEGORY>",                "What is the region {input}?",                               I::Region, A::PureText),
        row(RegionToDescription,             "<REGION_TO_DESCRIPTION>",             "What does the region {input} describe?",                    I::Region, A::PureText),
        row(RegionToOcr,                     "<REGION_TO_OCR>",                     "What text is in the region {input}?",                       I::Region, A::PureText),
    ]
};

// The variant order is the table order: `spec` indexes by discriminant, so a row out of place
// would describe the wrong task. This fails the build instead.
const _: () = {
    let mut i = 0;
    while i < TASKS.len() {
        assert!(TASKS[i].task as usize == i, "TASKS row out of the Task variant order");
        i += 1;
    }
};

impl Task {
    /// Every task, in the table's order.
    pub const ALL: [Task; 15] = {
        let mut all = [Task::Ocr; 15];
        let mut i = 0;
        while i < all.len() {
            all[i] = TASKS[i].task;
            i += 1;
        }
        all
    };

    /// This task's row of the table.
    pub fn spec(self) -> &'static TaskSpec {
        &TASKS[self as usize]
    }

    pub fn token(self) -> &'static str {
        self.spec().token
    }

    pub fn from_token(token: &str) -> Option<Task> {
        TASKS.iter().find(|s| s.token == token).map(|s| s.task)
    }

    /// The prompt; tasks that take an input have a `{input}` placeholder.
    pub fn prompt_template(self) -> &'static str {
        self.spec().prompt
    }

    pub fn input(self) -> TaskInput {
        self.spec().input
    }

    pub fn takes_input(self) -> bool {
        self.input() != TaskInput::None
    }

    /// Tasks whose input is a region (four `<loc_k>` tokens) rather than text.
    pub fn takes_region(self) -> bool {
        self.input() == TaskInput::Region
    }

    pub fn answer_kind(self) -> AnswerKind {
        self.spec().answer
    }
}

impl AnswerKind {
    /// The kind for a task string; unknown tasks are plain text, as in the reference.
    pub fn for_task_token(task: &str) -> Self {
        Task::from_token(task).map_or(AnswerKind::PureText, Task::answer_kind)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_round_trip_and_rows_agree() {
        for t in Task::ALL {
            assert_eq!(Task::from_token(t.token()), Some(t));
            // A template has the placeholder exactly when the task takes an input.
            assert_eq!(t.prompt_template().matches("{input}").count(), usize::from(t.takes_input()), "{t:?}");
        }
        assert_eq!(Task::ALL.iter().filter(|t| t.takes_input()).count(), 7);
        let regions: Vec<Task> = Task::ALL.into_iter().filter(|t| t.takes_region()).collect();
        assert_eq!(
            regions,
            [Task::RegionToSegmentation, Task::RegionToCategory, Task::RegionToDescription, Task::RegionToOcr]
        );
        assert_eq!(Task::from_token("<od>"), None);
        assert_eq!(AnswerKind::for_task_token("<NOT_A_TASK>"), AnswerKind::PureText);
        assert_eq!(
            AnswerKind::for_task_token("<OPEN_VOCABULARY_DETECTION>"),
            AnswerKind::DescriptionWithBboxesOrPolygons
        );
    }

    #[test]
    fn tasks_without_input_come_first_as_in_the_reference() {
        let split = TASKS.iter().position(|s| s.input != TaskInput::None).unwrap();
        assert_eq!(split, 8);
        assert!(TASKS[split..].iter().all(|s| s.input != TaskInput::None));
    }
}
