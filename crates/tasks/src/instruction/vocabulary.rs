//! The words and phrases the routing rules look for, in one place so a rule reads as logic and
//! a new synonym is one edit. All lower case: rules match them on the lowered instruction.
//! (Kept out of rustfmt, see mod.rs, so each list stays a few dense lines.)

/// Asking for text to be read.
pub(super) const READ_WORDS: &[&str] =
    &["read", "ocr", "transcribe", "text", "written", "writing", "say", "says", "words", "sign"];
/// Within an object phrase, words that make "find the X" a reading request instead.
pub(super) const TEXT_WORDS: &[&str] = &["text", "words", "writing", "written"];
/// Asking for the answer to be drawn (so OCR should come with regions).
pub(super) const DRAW_WORDS: &[&str] = &[
    "where", "locate", "find", "box", "boxes", "region", "regions", "highlight", "draw", "mark", "show",
    "position", "positions", "detect",
];
pub(super) const MASK_WORDS: &[&str] = &[
    "segment", "segmentation", "mask", "masks", "outline", "outlines", "polygon", "polygons", "silhouette",
    "cut out", "trace", "pixels",
];
pub(super) const BOX_WORDS: &[&str] =
    &["box", "boxes", "bounding box", "bounding boxes", "bbox", "bboxes", "rectangle", "rectangles"];
/// Pointing at the drawn region rather than naming something.
pub(super) const DEICTIC: &[&str] = &[
    "this", "that", "it", "here", "there", "region", "area", "selection", "selected", "box", "the region",
    "this region", "this area", "the box", "this box", "this part", "this object", "this thing",
];
pub(super) const DETECT_VERBS: &[&str] = &[
    "detect", "find", "locate", "where is", "where are", "where's", "show me", "show", "highlight", "spot",
    "point out", "look for", "search for", "mark", "box", "count", "how many", "identify", "circle",
];
/// Words between a detection verb and the things named ("find me all the dogs").
pub(super) const DETECT_FILLERS: &[&str] = &["me", "all of the", "all the", "every", "all"];
pub(super) const EVERYTHING: &[&str] = &[
    "everything", "all objects", "every object", "all the objects", "all things", "all items", "objects",
    "what objects", "each object", "all",
];
/// What a detection object may start with and still mean "everything".
pub(super) const EVERYTHING_PREFIXES: &[&str] = &[
    "everything", "all objects", "every object", "all the objects", "what objects", "which objects",
    "list the objects", "list objects", "list all objects",
];

/// About the drawn region: describe it (rather than name it).
pub(super) const REGION_DESCRIBE_WORDS: &[&str] =
    &["describe", "description", "caption", "tell me about", "explain", "details", "detail"];
/// "what is this region" without a drawn region.
pub(super) const REGION_NAMES: &[&str] = &["this region", "this area", "the region"];
pub(super) const REGION_QUESTIONS: &[&str] = &["region", "area", "what is this", "what's this", "this object"];

/// Followed by the caption whose phrases are to be grounded.
pub(super) const GROUNDING_PREFIXES: &[&str] = &[
    "where are the phrases of", "where are the phrases in", "where are the phrases from", "ground the phrases of",
    "ground the phrases in", "ground the phrases", "locate the phrases in", "locate the phrases of",
    "find the phrases in", "find the phrases of", "ground the caption", "ground",
];
pub(super) const PROPOSAL_WORDS: &[&str] = &[
    "propose regions", "region proposals", "region proposal", "proposals", "propose", "candidate regions",
    "regions of interest", "objectness",
];
pub(super) const DENSE_CAPTION_WORDS: &[&str] = &[
    "dense caption", "dense captions", "dense region caption", "describe each object", "describe every object",
    "describe each region", "describe every region", "caption each object", "caption every object",
    "caption each region", "caption regions",
];
/// Followed by the things to segment.
pub(super) const SEGMENT_VERBS: &[&str] = &[
    "segment", "mask", "outline", "cut out", "trace", "give me a mask of", "give me masks of", "make a mask of",
    "draw a mask around", "draw the outline of", "draw masks around",
];

/// Asking for a caption (matched after filler words are removed).
pub(super) const CAPTION_WORDS: &[&str] = &[
    "caption", "describe", "description", "what do you see", "what is happening", "what's happening",
    "summarize", "summarise", "what is shown", "tell me about", "explain",
];
/// Asking for a caption (matched before filler removal: "what is in this picture").
pub(super) const CAPTION_QUESTIONS: &[&str] = &["what is in", "what's in", "what is on", "what's on"];
pub(super) const BRIEF: &[&str] = &[
    "briefly", "brief", "short", "shortly", "in a few words", "one sentence", "one line", "quick", "caption",
    "title",
];
pub(super) const LONG: &[&str] = &[
    "paragraph", "thoroughly", "at length", "great detail", "very detailed", "more detail", "more detailed",
    "long", "everything about", "all details", "exhaustive", "extensively",
];
/// Neither brief nor long, but more than a caption.
pub(super) const DETAILED: &[&str] = &["describe", "description", "detail", "detailed", "explain", "tell me about"];
