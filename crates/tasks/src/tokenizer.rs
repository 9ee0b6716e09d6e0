//! Florence-2's tokenizer (byte-level BPE + added tokens) via the `tokenizers` crate, loaded from
//! the checkpoint's `tokenizer.json` bytes so it works the same natively and in wasm.
//!
//! Special-token ids are looked up by string, never hard-coded: the real tokenizer has
//! `<loc_0>` = 50269 but test tokenizers differ.

use crate::prompts::{construct_prompt, PromptError, TaskCall};
use crate::quantize::NUM_BINS;

#[derive(Debug, thiserror::Error)]
pub enum TokenizerError {
    #[error("cannot load tokenizer.json: {0}")]
    Load(String),
    #[error("tokenizer.json has no token {0:?}")]
    MissingToken(String),
    #[error("tokenizer failed: {0}")]
    Tokenizer(String),
    #[error(transparent)]
    Prompt(#[from] PromptError),
}

pub struct Florence2Tokenizer {
    inner: tokenizers::Tokenizer,
    bos: u32,
    eos: u32,
    pad: u32,
    image: u32,
    /// `<loc_0>`..`<loc_999>` ids by bin (need not be contiguous).
    locs: Vec<u32>,
}

impl Florence2Tokenizer {
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, TokenizerError> {
        let inner = tokenizers::Tokenizer::from_bytes(bytes).map_err(|e| TokenizerError::Load(e.to_string()))?;
        let id = |t: &str| inner.token_to_id(t).ok_or_else(|| TokenizerError::MissingToken(t.to_string()));
        let locs = (0..NUM_BINS).map(|k| id(&format!("<loc_{k}>"))).collect::<Result<Vec<_>, _>>()?;
        Ok(Self { bos: id("<s>")?, eos: id("</s>")?, pad: id("<pad>")?, image: id("<image>")?, locs, inner })
    }

    pub fn bos_id(&self) -> u32 {
        self.bos
    }
    pub fn eos_id(&self) -> u32 {
        self.eos
    }
    pub fn pad_id(&self) -> u32 {
        self.pad
    }
    /// The placeholder the processor repeats once per image feature before the prompt.
    pub fn image_token_id(&self) -> u32 {
        self.image
    }
    pub fn loc_token_id(&self, bin: u32) -> Option<u32> {
        self.locs.get(bin as usize).copied()
    }
    pub fn token_to_id(&self, token: &str) -> Option<u32> {
        self.inner.token_to_id(token)
    }
    pub fn id_to_token(&self, id: u32) -> Option<String> {
        self.inner.id_to_token(id)
    }
    pub fn vocab_size(&self) -> usize {
        self.inner.get_vocab_size(true)
    }

    /// Ids of `<s>` + prompt + `</s>`, tokenised as one string without added post-processing,
    /// exactly as the reference processor does (it prepends the image tokens separately).
    pub fn encode_prompt(&self, prompt: &str) -> Result<Vec<u32>, TokenizerError> {
        let text = format!("<s>{prompt}</s>");
        let encoding = self.inner.encode(text, false).map_err(|e| TokenizerError::Tokenizer(e.to_string()))?;
        Ok(encoding.get_ids().to_vec())
    }

    /// Task text as a user of the reference writes it (e.g. `"<OD>"`,
    /// `"<OPEN_VOCABULARY_DETECTION>a cat"`, or free text) -> prompt ids, through
    /// `construct_prompt`. For command lines and reference checks that start from such a string.
    pub fn encode_task(&self, task_text: &str) -> Result<Vec<u32>, TokenizerError> {
        self.encode_prompt(&construct_prompt(task_text)?)
    }

    /// Encoder input ids for a raw task string: `num_image_tokens` image placeholders, then
    /// `encode_task`'s ids.
    pub fn encoder_input_ids(&self, task_text: &str, num_image_tokens: usize) -> Result<Vec<u32>, TokenizerError> {
        Ok(self.after_image_tokens(num_image_tokens, self.encode_task(task_text)?))
    }

    /// Encoder input ids for a routed call: image placeholders, then the ids of `call.prompt()`
    /// (taken from the task table; the call's input is never searched for task tokens).
    pub fn encoder_input_ids_for_call(
        &self,
        call: &TaskCall,
        num_image_tokens: usize,
    ) -> Result<Vec<u32>, TokenizerError> {
        Ok(self.after_image_tokens(num_image_tokens, self.encode_prompt(&call.prompt())?))
    }

    /// The processor puts one image placeholder per image feature before the prompt.
    fn after_image_tokens(&self, num_image_tokens: usize, prompt_ids: Vec<u32>) -> Vec<u32> {
        let mut ids = vec![self.image; num_image_tokens];
        ids.extend(prompt_ids);
        ids
    }

    /// Generated ids -> text with special tokens kept (`<loc_k>`, `<poly>`...): what the parsers read.
    pub fn decode(&self, ids: &[u32]) -> Result<String, TokenizerError> {
        self.inner.decode(ids, false).map_err(|e| TokenizerError::Tokenizer(e.to_string()))
    }
}
