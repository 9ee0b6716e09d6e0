//! `visionllm eval`: the model on fresh synthetic scenes (training/demo/SCENES.md), scored with
//! the spec's metrics: box mAP@0.5 (COCO 101-point AP per class present, box score = exp(mean
//! log p) of its label and loc tokens), phrase-grounding accuracy, referring-segmentation mIoU,
//! caption exact match, and on scenes with words (`--words`) OCR word accuracy and box IoU.
//! Greedy decoding with per-token log-probabilities.

use std::collections::BTreeMap;
use std::ops::ControlFlow;
use std::path::PathBuf;
use std::time::Instant;

use serde_json::json;
use visionllm_florence2::generate::{Decoding, Generated};
use visionllm_florence2::Florence2;
use visionllm_gpu::{DType, Device, Recorder, Tensor};
use visionllm_scenes::{Scene, EVAL_SEED_START};
use visionllm_tasks::tokenizer::Florence2Tokenizer;
use visionllm_tasks::{parse, BoundingBox, ImageSize, Mask, Task, TaskAnswer, TaskCall};

use crate::args::Args;
use visionllm_tasks::box_scores::{scores_for, walk, TokenKinds};
use crate::metrics::{ap_per_class, mean, one_to_one, Detection, Truth};
use crate::scene_cmd::{parse_number, parse_shapes, parse_words};

pub const USAGE: &str = "\
USAGE: visionllm eval --model DIR --synthetic N [--seed S] [--tasks od,grounding,res,caption,ocr]
                      [--size 224] [--shapes 1..4] [--words 0..2] [--max-new-tokens 128] [--f16]
                      [--print-texts] [--backend cpu|gpu|auto] [--threads N]

Generates N synthetic scenes (seeds S..S+N, training/demo/SCENES.md), runs the model on each task
with greedy decoding and prints one JSON object:
  {\"n\", \"map50\", \"ap50_per_class\", \"grounding_accuracy\", \"res_miou\", \"caption_exact\",
   \"ocr_word_accuracy\", \"ocr_box_iou\", \"counts\", \"timings_ms\", ...}
(a metric is null when its task did not run or had nothing to score).

  --model           checkpoint directory (config.json, safetensors, tokenizer.json)
  --synthetic N     number of scenes
  --seed S          first seed (default 1000000000: evaluation seeds; training stays below)
  --tasks           comma-separated subset of od, grounding, res, caption, ocr (default: all)
                    od: <OD>; grounding: <CAPTION_TO_PHRASE_GROUNDING> on the true caption;
                    res: <REFERRING_EXPRESSION_SEGMENTATION> with one valid expression per scene
                    (when there is one); caption: <CAPTION>; ocr: <OCR_WITH_REGION> on scenes
                    with words (a true word is read when a predicted line has its exact text;
                    its IoU is that line's box against the word's, 0 when unread)
  --size            scene size in pixels (default 224); the model's preprocessor resizes
  --shapes          shape count range (default 1..4)
  --words           word count range (default none: the ocr task has nothing to read)
  --max-new-tokens  per answer (default 128)
  --tokenizer       tokenizer.json (default: DIR/tokenizer.json)
  --f16             f16 activations (needs a GPU with shader-f16)
  --backend B       cpu, gpu or auto (default): auto runs on the GPU unless the only adapter is a
                    software one (lavapipe, SwiftShader) or there is none, then on the CPU backend
  --threads N       CPU backend threads (default: the available cores)
  --print-texts     print every generated text and its target to stderr";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum EvalTask {
    Od,
    Grounding,
    Res,
    Caption,
    Ocr,
}

impl EvalTask {
    const ALL: [EvalTask; 5] = [EvalTask::Od, EvalTask::Grounding, EvalTask::Res, EvalTask::Caption, EvalTask::Ocr];

    fn name(self) -> &'static str {
        match self {
            EvalTask::Od => "od",
            EvalTask::Grounding => "grounding",
            EvalTask::Res => "res",
            EvalTask::Caption => "caption",
            EvalTask::Ocr => "ocr",
        }
    }

    fn task(self) -> Task {
        match self {
            EvalTask::Od => Task::ObjectDetection,
            EvalTask::Grounding => Task::CaptionToPhraseGrounding,
            EvalTask::Res => Task::ReferringExpressionSegmentation,
            EvalTask::Caption => Task::Caption,
            EvalTask::Ocr => Task::OcrWithRegion,
        }
    }

    fn parse_list(text: &str) -> Result<Vec<EvalTask>, String> {
        let mut out = Vec::new();
        for name in text.split(',').map(str::trim).filter(|n| !n.is_empty()) {
            let t = EvalTask::ALL.into_iter().find(|t| t.name() == name).ok_or_else(|| format!("unknown task {name:?} in --tasks (od, grounding, res, caption, ocr)"))?;
            if !out.contains(&t) {
                out.push(t);
            }
        }
        if out.is_empty() {
            return Err("--tasks names no task".into());
        }
        Ok(out)
    }
}

/// Milliseconds per phase, summed over scenes; the device is waited for so each phase pays its own work.
struct Phases<'g> {
    device: &'g Device,
    ms: BTreeMap<&'static str, f64>,
}

impl Phases<'_> {
    fn add(&mut self, name: &'static str, since: Instant) -> Instant {
        crate::backend::wait_idle(self.device);
        *self.ms.entry(name).or_default() += since.elapsed().as_secs_f64() * 1000.0;
        Instant::now()
    }
}

#[derive(Default)]
struct Tally {
    truths: Vec<Truth>,
    detections: Vec<Detection>,
    grounding: Vec<bool>,
    res_ious: Vec<f64>,
    captions: Vec<bool>,
    /// Per true word: read (exact text), and the IoU of its box with the line that read it.
    ocr_words: Vec<(bool, f64)>,
    counts: BTreeMap<&'static str, u64>,
}

impl Tally {
    fn count(&mut self, name: &'static str, by: u64) {
        *self.counts.entry(name).or_default() += by;
    }
}

struct Runner<'a> {
    model: &'a Florence2,
    tokenizer: &'a Florence2Tokenizer,
    kinds: TokenKinds,
    max_new: usize,
    print: bool,
}

/// What one task asks of one scene: the text input and the target answer (`None`: nothing to ask).
fn question(scene: &Scene, task: EvalTask) -> Option<(String, String)> {
    Some(match task {
        EvalTask::Od => (String::new(), scene.od_answer()),
        EvalTask::Grounding => (scene.grounding_input(), scene.grounding_answer()),
        EvalTask::Caption => (String::new(), scene.caption()),
        EvalTask::Ocr if scene.words.is_empty() => return None,
        EvalTask::Ocr => (String::new(), visionllm_scenes::words::ocr_with_region_answer(&scene.words, scene.size)),
        EvalTask::Res => {
            // One valid expression per scene, chosen by the seed.
            let exprs = scene.referring_expressions();
            let expr = exprs.get((scene.seed % exprs.len().max(1) as u64) as usize)?.clone();
            let target = scene.res_answer(&expr)?;
            (expr, target)
        }
    })
}

/// Scores one generated answer (`ids` after the decoder start token, one log-prob each, and the
/// decoded text) for scene number `k` into `tally`.
#[allow(clippy::too_many_arguments)]
fn score(tally: &mut Tally, kinds: &TokenKinds, eos: u32, k: usize, scene: &Scene, task: EvalTask, input: &str, ids: &[u32], logprobs: &[f32], text: &str) -> Result<(), String> {
    let size = ImageSize::new(scene.size, scene.size);
    let pixel_box = |b: [f64; 4]| BoundingBox::new(b[0] as f32, b[1] as f32, b[2] as f32, b[3] as f32);
    tally.count("generated_tokens", ids.len() as u64);
    if ids.last() != Some(&eos) {
        tally.count("token_limit_hits", 1);
    }
    match (task, parse(task.task(), text, size)) {
        (EvalTask::Od, TaskAnswer::Boxes { boxes }) => {
            for s in &scene.shapes {
                tally.truths.push(Truth { image: k, class: s.class().name(), bbox: pixel_box(s.bbox) });
            }
            let walked = walk(ids, logprobs, kinds);
            let bboxes: Vec<BoundingBox> = boxes.iter().map(|b| b.bbox).collect();
            let fallback = (logprobs.iter().map(|&v| v as f64).sum::<f64>() / logprobs.len().max(1) as f64).exp() as f32;
            for (b, score) in boxes.iter().zip(scores_for(&bboxes, &walked, size)) {
                if score.is_none() {
                    tally.count("od_score_fallbacks", 1);
                }
                tally.detections.push(Detection { image: k, class: b.label.clone(), bbox: b.bbox, score: score.unwrap_or(fallback) });
            }
            tally.count("od_truths", scene.shapes.len() as u64);
            tally.count("od_detections", boxes.len() as u64);
        }
        (EvalTask::Grounding, TaskAnswer::Boxes { boxes }) => {
            for (phrase, instances) in scene.caption_phrases() {
                let pred: Vec<BoundingBox> = boxes.iter().filter(|b| b.label == phrase).map(|b| b.bbox).collect();
                let truth: Vec<BoundingBox> = instances.iter().map(|&i| pixel_box(scene.shapes[i].bbox)).collect();
                tally.grounding.push(one_to_one(&pred, &truth, 0.5));
            }
        }
        (EvalTask::Res, TaskAnswer::Polygons { instances }) => {
            let target = scene.res_target(input).ok_or_else(|| format!("{input:?} is not a valid expression here"))?;
            let polygons: Vec<_> = instances.into_iter().flat_map(|i| i.polygons).collect();
            if polygons.is_empty() {
                tally.count("res_no_polygon", 1);
            }
            let predicted = Mask::from_polygons(&polygons, size);
            let own = scene.shapes[target].mask(scene.size);
            let truth = Mask { width: scene.size, height: scene.size, data: own.iter().map(|&v| u8::from(v)).collect() };
            tally.res_ious.push(predicted.iou(&truth) as f64);
        }
        (EvalTask::Caption, TaskAnswer::Text { text }) => tally.captions.push(text == scene.caption()),
        (EvalTask::Ocr, TaskAnswer::Ocr { lines }) => {
            let read: Vec<(String, BoundingBox)> = lines
                .iter()
                .filter_map(|l| Some((l.text.trim().to_string(), visionllm_tasks::Polygon { points: l.quad.to_vec() }.bounding_box()?)))
                .collect();
            let truth: Vec<(String, BoundingBox)> = scene.words.iter().map(|w| (w.text.clone(), pixel_box(w.bbox()))).collect();
            tally.ocr_words.extend(read_words(&truth, &read));
            tally.count("ocr_words", truth.len() as u64);
            tally.count("ocr_lines", lines.len() as u64);
        }
        (task, other) => return Err(format!("{}: unexpected answer shape {other:?}", task.name())),
    }
    Ok(())
}

impl Runner<'_> {
    /// Encoder + greedy decoding with scores for `task` + `input` on the image features, through
    /// the one generation path (its own encoder and decoder times).
    fn generate(&self, features: &Tensor, task: Task, input: &str, phases: &mut Phases) -> Result<(Generated, String), String> {
        let call = TaskCall::new(task, (!input.is_empty()).then(|| input.to_string()));
        let ids = self.tokenizer.encoder_input_ids_for_call(&call, features.dims2().0).map_err(|e| e.to_string())?;
        let mut no_stop = |_: &visionllm_florence2::Step| ControlFlow::Continue(());
        let run = self.model.generate_with(&ids, features, &Decoding::GreedyWithScores, self.max_new, &mut no_stop);
        let generated = pollster::block_on(run).map_err(|e| e.to_string())?;
        *phases.ms.entry("encoder").or_default() += generated.encode_time.as_secs_f64() * 1000.0;
        *phases.ms.entry("decode").or_default() += generated.decode_time.as_secs_f64() * 1000.0;
        let text = self.tokenizer.decode(&generated.ids).map_err(|e| e.to_string())?;
        Ok((generated, text))
    }

    fn scene(&self, k: usize, scene: &Scene, features: &Tensor, tasks: &[EvalTask], tally: &mut Tally, phases: &mut Phases) -> Result<(), String> {
        for &task in tasks {
            let Some((input, target)) = question(scene, task) else { continue };
            let (generated, text) = self.generate(features, task.task(), &input, phases)?;
            let t = Instant::now();
            if self.print {
                eprintln!("seed {} {} {input:?}\n  got:  {text}\n  want: {target}", scene.seed, task.name());
            }
            let logprobs = generated.token_logprobs.as_deref().unwrap_or_default();
            score(tally, &self.kinds, self.tokenizer.eos_id(), k, scene, task, &input, &generated.ids[1..], logprobs, &text)?;
            phases.add("score", t);
        }
        Ok(())
    }
}

pub fn run(args: &mut Args) -> Result<(), String> {
    let model_dir = PathBuf::from(args.required("--model")?);
    let n: usize = parse_number("--synthetic", Some(args.required("--synthetic")?), 0)?;
    let seed: u64 = parse_number("--seed", args.value("--seed")?, EVAL_SEED_START)?;
    let tasks = match args.value("--tasks")? {
        Some(t) => EvalTask::parse_list(&t)?,
        None => EvalTask::ALL.to_vec(),
    };
    let size: u32 = parse_number("--size", args.value("--size")?, visionllm_scenes::DEFAULT_SIZE)?;
    let shapes = match args.value("--shapes")? {
        Some(s) => parse_shapes(&s)?,
        None => visionllm_scenes::DEFAULT_SHAPES,
    };
    let words = match args.value("--words")? {
        Some(w) => parse_words(&w)?,
        None => 0..=0,
    };
    let max_new: usize = parse_number("--max-new-tokens", args.value("--max-new-tokens")?, 128)?;
    let tokenizer_path = args.value("--tokenizer")?.map(PathBuf::from).unwrap_or_else(|| model_dir.join("tokenizer.json"));
    let f16 = args.flag("--f16");
    let print = args.flag("--print-texts");
    let backend = crate::backend::BackendArgs::take(args)?;
    std::mem::take(args).finish()?;
    if n == 0 {
        return Err("--synthetic N needs N >= 1".into());
    }
    if !(32..=4096).contains(&size) {
        return Err(format!("--size {size} is outside 32..=4096"));
    }

    let start = Instant::now();
    let (device, backend_reason) = backend.open()?;
    let mut phases = Phases { device: &device, ms: BTreeMap::new() };
    let tokenizer = crate::run_cmd::tokenizer(&tokenizer_path)?;
    let model = Florence2::load_dir(device.clone(), &model_dir, if f16 { DType::F16 } else { DType::F32 }).map_err(|e| format!("{}: {e}", model_dir.display()))?;
    let mut t = phases.add("load", start);
    let runner = Runner { model: &model, tokenizer: &tokenizer, kinds: TokenKinds::new(&tokenizer), max_new, print };
    let mut tally = Tally::default();
    for k in 0..n {
        let scene = Scene::generate_with_words(seed + k as u64, size, shapes.clone(), words.clone());
        let pixels = model.pixel_values(&scene.render(), size as usize, size as usize).map_err(|e| e.to_string())?;
        t = phases.add("scenes", t);
        let mut rec = Recorder::new(&device);
        let features = model.image_features(&mut rec, &pixels, &mut |_, _| {}).map_err(|e| e.to_string())?;
        rec.submit();
        phases.add("vision", t);
        runner.scene(k, &scene, &features, &tasks, &mut tally, &mut phases)?;
        t = Instant::now();
    }
    phases.ms.insert("total", start.elapsed().as_secs_f64() * 1000.0);
    let mut out = summary(n, &tasks, tally);
    let decode_s = phases.ms.get("decode").copied().unwrap_or(0.0) / 1000.0;
    out["decode_tokens_per_s"] = json!(out["counts"]["generated_tokens"].as_u64().unwrap_or(0) as f64 / decode_s.max(1e-9));
    out["seed"] = json!(seed);
    out["timings_ms"] = json!(phases.ms);
    out["backend"] = json!(device.backend_name());
    out["backend_reason"] = json!(backend_reason);
    out["device"] = json!(device.describe());
    println!("{out}");
    Ok(())
}

/// Each true word (text, box) read or not, one to one: pairs of a true word and a predicted line
/// with the same text are taken by decreasing box IoU, each word and line at most once (a word
/// read where its box does not overlap still counts as read, with IoU 0).
fn read_words(truth: &[(String, BoundingBox)], read: &[(String, BoundingBox)]) -> Vec<(bool, f64)> {
    let mut pairs: Vec<(usize, usize, f64)> = Vec::new();
    for (t, (text, b)) in truth.iter().enumerate() {
        for (r, (line, rb)) in read.iter().enumerate() {
            if line == text {
                pairs.push((t, r, rb.iou(*b) as f64));
            }
        }
    }
    pairs.sort_by(|a, b| b.2.total_cmp(&a.2).then((a.0, a.1).cmp(&(b.0, b.1))));
    let mut out = vec![(false, 0.0); truth.len()];
    let mut line_used = vec![false; read.len()];
    for (t, r, iou) in pairs {
        if !out[t].0 && !line_used[r] {
            out[t] = (true, iou);
            line_used[r] = true;
        }
    }
    out
}

/// The metrics JSON (without timings): a metric is null when its task did not run or had nothing
/// to score.
fn summary(n: usize, tasks: &[EvalTask], mut tally: Tally) -> serde_json::Value {
    let ran = |task: EvalTask| tasks.contains(&task);
    let ap = ap_per_class(&tally.truths, &tally.detections, 0.5);
    let map50 = if ran(EvalTask::Od) { mean(&ap.values().copied().collect::<Vec<_>>()) } else { None };
    let rate = |v: &[bool]| mean(&v.iter().map(|&b| f64::from(u8::from(b))).collect::<Vec<_>>());
    tally.count("scenes", n as u64);
    tally.count("grounding_phrases", tally.grounding.len() as u64);
    tally.count("grounding_right", tally.grounding.iter().filter(|&&b| b).count() as u64);
    tally.count("res_scenes", tally.res_ious.len() as u64);
    tally.count("captions", tally.captions.len() as u64);
    tally.count("captions_exact", tally.captions.iter().filter(|&&b| b).count() as u64);
    json!({
        "n": n,
        "tasks": tasks.iter().map(|t| t.name()).collect::<Vec<_>>(),
        "map50": map50,
        "ap50_per_class": if ran(EvalTask::Od) { json!(ap) } else { json!(null) },
        "grounding_accuracy": rate(&tally.grounding),
        "res_miou": mean(&tally.res_ious),
        "caption_exact": rate(&tally.captions),
        "ocr_word_accuracy": rate(&tally.ocr_words.iter().map(|w| w.0).collect::<Vec<_>>()),
        "ocr_box_iou": mean(&tally.ocr_words.iter().map(|w| w.1).collect::<Vec<_>>()),
        "counts": tally.counts,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn task_lists() {
        assert_eq!(EvalTask::parse_list("od, res,od").unwrap(), vec![EvalTask::Od, EvalTask::Res]);
        assert!(EvalTask::parse_list("ovd").is_err());
        assert!(EvalTask::parse_list(",").is_err());
    }

    /// An oracle that "generates" every target text (tokenised by the demo model's tokenizer,
    /// log-prob 0 per token) scores perfectly: the whole scoring path, parsers included, agrees
    /// with the texts the scenes crate writes.
    #[test]
    fn the_targets_themselves_score_perfectly() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../public/models/demo/tokenizer.json");
        let tokenizer = Florence2Tokenizer::from_bytes(&std::fs::read(path).unwrap()).unwrap();
        let kinds = TokenKinds::new(&tokenizer);
        let mut tally = Tally::default();
        let n = 12;
        for k in 0..n {
            let scene = Scene::generate_with_words(EVAL_SEED_START + k as u64, 224, 1..=4, 1..=2);
            for task in EvalTask::ALL {
                let Some((input, target)) = question(&scene, task) else { continue };
                // What the model would emit: <s> answer </s> after the decoder start token.
                let ids = tokenizer.encode_prompt(&target).unwrap();
                let mut all = vec![tokenizer.eos_id()];
                all.extend(&ids);
                let text = tokenizer.decode(&all).unwrap();
                score(&mut tally, &kinds, tokenizer.eos_id(), k, &scene, task, &input, &ids, &vec![0.0; ids.len()], &text).unwrap();
            }
        }
        let out = summary(n, &EvalTask::ALL, tally);
        eprintln!("oracle: {out}");
        assert_eq!(out["map50"], 1.0, "{out}");
        assert_eq!(out["grounding_accuracy"], 1.0, "{out}");
        assert_eq!(out["caption_exact"], 1.0, "{out}");
        assert!(out["counts"].get("od_score_fallbacks").is_none(), "{out}");
        assert!(out["counts"].get("token_limit_hits").is_none(), "{out}");
        assert_eq!(out["counts"]["res_scenes"], n as u64, "{out}");
        // Quantized polygons (a 16-gon for circles) against the exact shapes.
        let miou = out["res_miou"].as_f64().unwrap();
        assert!(miou > 0.9, "{out}");
        // Every word read; its quad's bins, dequantized, against the exact box.
        assert_eq!(out["ocr_word_accuracy"], 1.0, "{out}");
        assert!(out["ocr_box_iou"].as_f64().unwrap() > 0.85, "{out}");
        assert!(out["counts"]["ocr_words"].as_u64().unwrap() >= n as u64, "{out}");
    }

    #[test]
    fn words_are_read_one_to_one() {
        let b = |x1, y1, x2, y2| BoundingBox::new(x1, y1, x2, y2);
        let truth = [("STOP".to_string(), b(0.0, 0.0, 10.0, 10.0)), ("STOP".to_string(), b(20.0, 0.0, 30.0, 10.0)), ("EXIT".to_string(), b(0.0, 20.0, 10.0, 30.0))];
        // One STOP, over the second true STOP (half of it); EXIT misread as EXlT; a stray line.
        let read = [("STOP".to_string(), b(20.0, 0.0, 30.0, 5.0)), ("EXlT".to_string(), b(0.0, 20.0, 10.0, 30.0)), ("SALE".to_string(), b(50.0, 50.0, 60.0, 60.0))];
        assert_eq!(read_words(&truth, &read), vec![(false, 0.0), (true, 0.5), (false, 0.0)]);
        // Two STOPs, the far one first: each goes to the word it covers; a line of the right text
        // elsewhere still reads its word.
        let read = [("STOP".to_string(), b(20.0, 0.0, 30.0, 5.0)), ("STOP".to_string(), b(0.0, 0.0, 10.0, 10.0)), ("EXIT".to_string(), b(90.0, 90.0, 99.0, 99.0))];
        assert_eq!(read_words(&truth, &read), vec![(true, 1.0), (true, 0.5), (true, 0.0)]);
    }
}
