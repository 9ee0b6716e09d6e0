//! The prompt: the checkpoint's own chat template (`chat_template.jinja`, else the
//! `chat_template` of `tokenizer_config.json`) rendered for one user turn of an image and the
//! instruction, with the generation prompt; tokenized by `tokenizer.json`; the one image
//! placeholder then stands for as many image tokens as the image has merged patches.

use minijinja::{context, Environment};
use serde::Serialize;
use tokenizers::Tokenizer;

/// Longest instruction taken (characters); the app's own limit is lower.
pub const MAX_PROMPT_CHARS: usize = 8192;

#[derive(Serialize)]
struct Part<'a> {
    #[serde(rename = "type")]
    kind: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    text: Option<&'a str>,
}

#[derive(Serialize)]
struct Message<'a> {
    role: &'a str,
    content: Vec<Part<'a>>,
}

pub struct ChatPrompt {
    template: String,
    tokenizer: Tokenizer,
    image_token_id: u32,
}

impl ChatPrompt {
    /// `template` is the Jinja source; the tokenizer must know the image placeholder token.
    pub fn new(template: String, tokenizer_json: &[u8], image_token_id: u32) -> Result<ChatPrompt, String> {
        let tokenizer = Tokenizer::from_bytes(tokenizer_json).map_err(|e| format!("tokenizer.json: {e}"))?;
        let prompt = ChatPrompt { template, tokenizer, image_token_id };
        // Render once now, so a template that cannot render fails at load, not at the first image.
        prompt.render(Some("check"), "check")?;
        Ok(prompt)
    }

    /// The template from `chat_template.jinja` when present, else `tokenizer_config.json`'s
    /// `chat_template` (a string, or a list of named templates of which "default" is used).
    pub fn template_from(jinja: Option<String>, tokenizer_config: Option<&str>) -> Result<String, String> {
        if let Some(t) = jinja {
            return Ok(t);
        }
        let cfg: serde_json::Value = serde_json::from_str(tokenizer_config.ok_or("no chat_template.jinja and no tokenizer_config.json")?).map_err(|e| format!("tokenizer_config.json: {e}"))?;
        match &cfg["chat_template"] {
            serde_json::Value::String(s) => Ok(s.clone()),
            serde_json::Value::Array(list) => list
                .iter()
                .find(|t| t["name"] == "default")
                .and_then(|t| t["template"].as_str())
                .map(str::to_string)
                .ok_or_else(|| "tokenizer_config.json: chat_template lists no \"default\" template".to_string()),
            _ => Err("no chat template: neither chat_template.jinja nor tokenizer_config.json's chat_template".into()),
        }
    }

    /// The prompt text for one user turn (the image, then the instruction), after an optional
    /// system message, with the generation prompt.
    pub fn render(&self, system: Option<&str>, instruction: &str) -> Result<String, String> {
        let mut messages = Vec::with_capacity(2);
        if let Some(system) = system {
            messages.push(Message { role: "system", content: vec![Part { kind: "text", text: Some(system) }] });
        }
        messages.push(Message { role: "user", content: vec![Part { kind: "image", text: None }, Part { kind: "text", text: Some(instruction) }] });
        self.render_messages(&messages, true)
    }

    /// The template over any list of messages (transformers' `apply_chat_template` context:
    /// `messages`, `add_generation_prompt`, `add_vision_id` off).
    pub fn render_messages(&self, messages: &impl Serialize, add_generation_prompt: bool) -> Result<String, String> {
        self.render_with(context! { messages => messages, add_generation_prompt => add_generation_prompt })
    }

    /// The template over a whole context (any variables the template reads).
    pub fn render_with(&self, ctx: minijinja::Value) -> Result<String, String> {
        let mut env = Environment::new();
        minijinja_contrib::add_to_environment(&mut env);
        env.set_unknown_method_callback(minijinja_contrib::pycompat::unknown_method_callback);
        env.add_template("chat", &self.template).map_err(|e| format!("chat template: {e}"))?;
        env.get_template("chat")
            .and_then(|t| t.render(ctx))
            .map_err(|e| format!("chat template: {e}"))
    }

    /// Token ids of the prompt with the image placeholder expanded to `image_tokens` copies.
    pub fn input_ids(&self, system: Option<&str>, instruction: &str, image_tokens: usize) -> Result<Vec<u32>, String> {
        for (what, text) in [("system message", system.unwrap_or("")), ("instruction", instruction)] {
            let chars = text.chars().count();
            if chars > MAX_PROMPT_CHARS {
                return Err(format!("the {what} has {chars} characters; at most {MAX_PROMPT_CHARS} are taken"));
            }
        }
        let text = self.render(system, instruction)?;
        let encoding = self.tokenizer.encode(text, true).map_err(|e| format!("tokenizer: {e}"))?;
        let ids = encoding.get_ids();
        let placeholders = ids.iter().filter(|&&t| t == self.image_token_id).count();
        if placeholders != 1 {
            return Err(format!("the rendered prompt holds {placeholders} image placeholders; exactly one is needed (does the instruction contain the placeholder token?)"));
        }
        let mut out = Vec::with_capacity(ids.len() + image_tokens);
        for &t in ids {
            if t == self.image_token_id {
                out.extend(std::iter::repeat_n(t, image_tokens));
            } else {
                out.push(t);
            }
        }
        Ok(out)
    }

    /// Text of generated ids, special tokens dropped.
    pub fn decode(&self, ids: &[u32]) -> Result<String, String> {
        self.tokenizer.decode(ids, true).map_err(|e| format!("tokenizer: {e}"))
    }

    pub fn token_id(&self, token: &str) -> Option<u32> {
        self.tokenizer.token_to_id(token)
    }
}
