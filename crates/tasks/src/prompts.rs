//! Florence-2 tasks and their prompts, exactly as the reference processor builds them
//! (`Florence2Processor._construct_prompts`).

use crate::parse::AnswerKind;
use serde::{Deserialize, Serialize};

/// A Florence-2 task, named by its task token.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Task {
    Caption,
    DetailedCaption,
    MoreDetailedCaption,
    Ocr,
    OcrWithRegion,
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

/// Why a task string could not become a prompt.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PromptError {
    /// Same message as the reference's ValueError.
    #[error("Task token {0} should be the only content in the prompt.")]
    ExtraTextForTaskWithoutInput(&'static str),
}

impl Task {
    pub const ALL: [Task; 15] = [
        Task::Caption,
        Task::DetailedCaption,
        Task::MoreDetailedCaption,
        Task::Ocr,
        Task::OcrWithRegion,
        Task::ObjectDetection,
        Task::DenseRegionCaption,
        Task::RegionProposal,
        Task::CaptionToPhraseGrounding,
        Task::ReferringExpressionSegmentation,
        Task::RegionToSegmentation,
        Task::OpenVocabularyDetection,
        Task::RegionToCategory,
        Task::RegionToDescription,
        Task::RegionToOcr,
    ];

    /// The reference checks tasks without input in this order (its dict order), then those with.
    const WITHOUT_INPUT_ORDER: [Task; 8] = [
        Task::Ocr,
        Task::OcrWithRegion,
        Task::Caption,
        Task::DetailedCaption,
        Task::MoreDetailedCaption,
        Task::ObjectDetection,
        Task::DenseRegionCaption,
        Task::RegionProposal,
    ];
    const WITH_INPUT_ORDER: [Task; 7] = [
        Task::CaptionToPhraseGrounding,
        Task::ReferringExpressionSegmentation,
        Task::RegionToSegmentation,
        Task::OpenVocabularyDetection,
        Task::RegionToCategory,
        Task::RegionToDescription,
        Task::RegionToOcr,
    ];

    pub fn token(self) -> &'static str {
        match self {
            Task::Caption => "<CAPTION>",
            Task::DetailedCaption => "<DETAILED_CAPTION>",
            Task::MoreDetailedCaption => "<MORE_DETAILED_CAPTION>",
            Task::Ocr => "<OCR>",
            Task::OcrWithRegion => "<OCR_WITH_REGION>",
            Task::ObjectDetection => "<OD>",
            Task::DenseRegionCaption => "<DENSE_REGION_CAPTION>",
            Task::RegionProposal => "<REGION_PROPOSAL>",
            Task::CaptionToPhraseGrounding => "<CAPTION_TO_PHRASE_GROUNDING>",
            Task::ReferringExpressionSegmentation => "<REFERRING_EXPRESSION_SEGMENTATION>",
            Task::RegionToSegmentation => "<REGION_TO_SEGMENTATION>",
            Task::OpenVocabularyDetection => "<OPEN_VOCABULARY_DETECTION>",
            Task::RegionToCategory => "<REGION_TO_CATEGORY>",
            Task::RegionToDescription => "<REGION_TO_DESCRIPTION>",
            Task::RegionToOcr => "<REGION_TO_OCR>",
        }
    }

    pub fn from_token(token: &str) -> Option<Task> {
        Task::ALL.into_iter().find(|t| t.token() == token)
    }

    /// The prompt; tasks that take an input have a `{input}` placeholder.
    pub fn prompt_template(self) -> &'static str {
        match self {
            Task::Caption => "What does the image describe?",
            Task::DetailedCaption => "Describe in detail what is shown in the image.",
            Task::MoreDetailedCaption => "Describe with a paragraph what is shown in the image.",
            Task::Ocr => "What is the text in the image?",
            Task::OcrWithRegion => "What is the text in the image, with regions?",
            Task::ObjectDetection => "Locate the objects with category name in the image.",
            Task::DenseRegionCaption => "Locate the objects in the image, with their descriptions.",
            Task::RegionProposal => "Locate the region proposals in the image.",
            Task::CaptionToPhraseGrounding => "Locate the phrases in the caption: {input}",
            Task::ReferringExpressionSegmentation => "Locate {input} in the image with mask",
            Task::RegionToSegmentation => "What is the polygon mask of region {input}",
            Task::OpenVocabularyDetection => "Locate {input} in the image.",
            Task::RegionToCategory => "What is the region {input}?",
            Task::RegionToDescription => "What does the region {input} describe?",
            Task::RegionToOcr => "What text is in the region {input}?",
        }
    }

    pub fn takes_input(self) -> bool {
        self.prompt_template().contains("{input}")
    }

    /// Tasks whose input is a region (four `<loc_k>` tokens) rather than text.
    pub fn takes_region(self) -> bool {
        matches!(
            self,
            Task::RegionToSegmentation | Task::RegionToCategory | Task::RegionToDescription | Task::RegionToOcr
        )
    }

    pub fn answer_kind(self) -> AnswerKind {
        match self {
            Task::Caption
            | Task::DetailedCaption
            | Task::MoreDetailedCaption
            | Task::Ocr
            | Task::RegionToCategory
            | Task::RegionToDescription
            | Task::RegionToOcr => AnswerKind::PureText,
            Task::OcrWithRegion => AnswerKind::Ocr,
            Task::ObjectDetection | Task::DenseRegionCaption => AnswerKind::DescriptionWithBboxes,
            Task::RegionProposal => AnswerKind::Bboxes,
            Task::CaptionToPhraseGrounding => AnswerKind::PhraseGrounding,
            Task::ReferringExpressionSegmentation | Task::RegionToSegmentation => AnswerKind::Polygons,
            Task::OpenVocabularyDetection => AnswerKind::DescriptionWithBboxesOrPolygons,
        }
    }

    /// The prompt for this task with `input`; a task without input rejects non-empty `input`.
    pub fn prompt(self, input: &str) -> Result<String, PromptError> {
        construct_prompt(&format!("{}{}", self.token(), input))
    }
}

/// Task text (`"<OD>"`, `"<CAPTION_TO_PHRASE_GROUNDING>a dog"`, or free text) -> prompt, as the
/// reference: a task token without input must be the whole text; a task token with input is
/// removed (every occurrence) and the stripped rest fills `{input}`; other text passes unchanged.
pub fn construct_prompt(text: &str) -> Result<String, PromptError> {
    let mut prompt = text.to_string();
    if let Some(task) = Task::WITHOUT_INPUT_ORDER.into_iter().find(|t| prompt.contains(t.token())) {
        if prompt != task.token() {
            return Err(PromptError::ExtraTextForTaskWithoutInput(task.token()));
        }
        prompt = task.prompt_template().to_string();
    }
    if let Some(task) = Task::WITH_INPUT_ORDER.into_iter().find(|t| prompt.contains(t.token())) {
        let input = prompt.replace(task.token(), "");
        prompt = task.prompt_template().replace("{input}", crate::parse::scan::py_strip(&input));
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
        assert_eq!(Task::OpenVocabularyDetection.prompt(" cat ").unwrap(), "Locate cat in the image.");
        assert!(Task::Caption.prompt("x").is_err());
    }

    #[test]
    fn tokens_round_trip() {
        for t in Task::ALL {
            assert_eq!(Task::from_token(t.token()), Some(t));
        }
        assert_eq!(Task::ALL.iter().filter(|t| t.takes_input()).count(), 7);
    }
}
