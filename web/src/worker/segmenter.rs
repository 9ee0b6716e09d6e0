//! Masks for family #2's boxes: a Florence-2 model from browser storage outlines each box
//! (`visionllm_tasks::box_masks`), as VisionLLM v2 links an LLM to a specialist.
//!
//! "In storage" means: complete there and loaded once. A Florence-2 model that loaded from
//! browser storage leaves a marker in its directory (`remember`) holding the files it loads from,
//! so a later segmentation request can load it again without the page's catalog. Of the marked
//! models, the largest is used (a published Florence-2 before the shapes demo). It stays loaded
//! beside the main model for the next request; loading another main model drops it.

use std::ops::ControlFlow;
use std::rc::Rc;

use visionllm_florence2::{JobEvent, JobStage, RgbImage};
use visionllm_tasks::box_masks::{mask_calls, mask_route, with_masks};
use visionllm_tasks::{parse, ImageSize, Instance, Shape, Task};

use super::engine::decoding_for;
use super::model_loader::{self, Family, LoadedModel};
use super::shard_cache::{self, ShardCache};
use super::{now_ms, progress, WorkerState};
use crate::messages::{DecodingMode, ModelFiles, Progress, Stage};

/// The marker's file name in a model's storage directory.
const MARKER: &str = "florence2-files.json";
/// A marker is a `ModelFiles` in JSON: a few hundred bytes; anything much larger is not ours.
const MAX_MARKER_BYTES: usize = 16 * 1024;

/// Why a segmentation request got boxes only (shown under the answer).
pub const NONE_STORED: &str = "Boxes only: masks come from a Florence-2 model's region-to-segmentation, and no Florence-2 model trained on region tasks is stored in this browser yet (the shapes demo is not). Load one once in the model panel, e.g. Florence-2-base-ft (it stays in browser storage), then load Qwen3-VL again and ask again.";

/// Mark `cache` (where `files` was just loaded from, complete) as holding a Florence-2 model
/// that can outline regions. Best effort: without the marker the model is only not offered for masks.
pub async fn remember(cache: &ShardCache, files: &ModelFiles) {
    if !files.region_tasks {
        return;
    }
    let json = serde_json::to_string(files).unwrap_or_default();
    if let Err(e) = cache.write_text(MARKER, &json).await {
        web_sys::console::warn_1(&format!("{}: not marked as a Florence-2 model for masks: {e}", files.id).into());
    }
}

/// The marked Florence-2 models in storage, largest first.
async fn stored() -> Result<Vec<ModelFiles>, String> {
    let mut found = Vec::new();
    for (dir, bytes) in shard_cache::list().await? {
        let Some(cache) = ShardCache::open_listed(&dir).await? else { continue };
        let Ok(Some(text)) = cache.read_text(MARKER).await else { continue };
        // Storage is outside input too: a damaged or foreign marker is skipped, not trusted.
        if text.len() > MAX_MARKER_BYTES {
            continue;
        }
        match serde_json::from_str::<ModelFiles>(&text) {
            Ok(files) if files.region_tasks => found.push((bytes, files)),
            _ => {}
        }
    }
    found.sort_by(|a, b| b.0.cmp(&a.0));
    Ok(found.into_iter().map(|(_, files)| files).collect())
}

/// The segmenter to use: the one already loaded, else the largest stored one, loaded now.
/// `Ok(None)`: no Florence-2 model is stored.
async fn segmenter(state: &WorkerState) -> Result<Option<(String, Rc<LoadedModel>)>, String> {
    if let Some(loaded) = state.segmenter.borrow().clone() {
        return Ok(Some(loaded));
    }
    let device = state.device.borrow().clone().ok_or("the device is not open yet")?;
    let mut failures = Vec::new();
    for files in stored().await? {
        match model_loader::load_model(&device, &files).await {
            Ok(loaded) if matches!(loaded.family, Family::Florence2 { .. }) => {
                let loaded = (files.id.clone(), Rc::new(loaded));
                *state.segmenter.borrow_mut() = Some(loaded.clone());
                return Ok(Some(loaded));
            }
            Ok(_) => failures.push(format!("{} is not a Florence-2 model", files.id)),
            Err(e) => failures.push(format!("{}: {e}", files.id)),
        }
    }
    if failures.is_empty() {
        Ok(None)
    } else {
        Err(failures.join("; "))
    }
}

/// What the masks step gives: the instances (boxes replaced by masks where Florence-2 found one)
/// and the note to show.
pub struct Masked {
    pub instances: Vec<Instance>,
    pub note: String,
}

/// Outline each box of `instances` on the image with a stored Florence-2 model. Failures are not
/// the job's: the boxes stay and the note says why. `None`: the job was cancelled meanwhile.
pub async fn masks_for_boxes(state: &WorkerState, job: u64, image: RgbImage<'_>, instances: &[Instance], decoding: DecodingMode, max_new_tokens: usize) -> Option<Masked> {
    let started = now_ms();
    let size = ImageSize::new(image.width, image.height);
    let calls = mask_calls(instances, size);
    if calls.is_empty() {
        return Some(Masked { instances: instances.to_vec(), note: "No box to outline: masks come from Florence-2's region-to-segmentation of each box.".into() });
    }
    let boxes_only = |why: String| Some(Masked { instances: instances.to_vec(), note: why });
    let (id, loaded) = match segmenter(state).await {
        Ok(Some(found)) => found,
        Ok(None) => return boxes_only(NONE_STORED.into()),
        Err(e) => return boxes_only(format!("Boxes only: the stored Florence-2 model could not be loaded for masks ({e}).")),
    };
    let Family::Florence2 { model, tokenizer } = &loaded.family else { return boxes_only(format!("Boxes only: {id} is not a Florence-2 model.")) };
    let total = calls.len() as u64;
    let mut on_event = |event: JobEvent| {
        if let JobEvent::Stage(JobStage::Call { call, .. }) = event {
            progress(Progress { job: Some(job), stage: Stage::Masks, done: call as u64, total: Some(total), elapsed_ms: 0.0 });
        }
        if state.cancelled(job) { ControlFlow::Break(()) } else { ControlFlow::Continue(()) }
    };
    let run = match model.run_routed(tokenizer, image, mask_route(&calls), &decoding_for(decoding), max_new_tokens, &mut on_event).await {
        Ok(run) if run.stopped => return None,
        Ok(run) => run,
        Err(e) => return boxes_only(format!("Boxes only: {id} failed while outlining the boxes ({e}).")),
    };
    // `?test-hooks`: an answer the test chose replaces the (random) model's for every box, after
    // the calls ran, so a test can check the parse and the drawing of a known mask.
    let injected = state.injected_mask_answer.borrow_mut().take();
    let answers: Vec<_> = calls
        .iter()
        .zip(run.answers)
        .map(|((index, _), answer)| match &injected {
            Some(text) => (*index, parse(Task::RegionToSegmentation, text, size)),
            None => (*index, answer.answer),
        })
        .collect();
    let instances = with_masks(instances, &answers);
    let outlined = instances.iter().filter(|i| matches!(i.shape, Shape::Polygons(_))).count();
    let note = format!(
        "Masks by {id} (Florence-2 from browser storage): {outlined} of {total} box(es) outlined with <REGION_TO_SEGMENTATION> in {:.1} s{}.",
        (now_ms() - started) / 1000.0,
        if (outlined as u64) < total { "; the others stay boxes (no outline found)" } else { "" }
    );
    Some(Masked { instances, note })
}
