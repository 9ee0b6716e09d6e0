//! Words in, boxes out: tokenizer, instruction router, answer parsers, masks, export.
