//! The batch on the page: its items, the files they come from, and the loop that labels them one
//! after another. The queue is the page's (it holds the `File` handles and decodes each image
//! only when its turn comes, so memory stays flat however many files are dropped); the worker
//! runs one job at a time as for a single image. Each finished item is stored (`batch_store`)
//! before the next starts; Cancel stops after the current item; a reload shows the stored batch,
//! and adding the same files again resumes with the items that have no record yet.

use std::collections::HashMap;
use std::sync::Arc;

use leptos::prelude::*;
use web_sys::{File, HtmlCanvasElement};

use super::batch_store;
use super::image_input::{context_2d, decode, new_canvas};
use super::instruction_box::start_job;
use super::media::{thumbnail, OpenVideo};
use super::state::{AppState, ImageInfo, JobEnd};
use super::worker_client::WorkerClient;
use crate::batch::{file_key, frame_source, frame_times, record_file, BatchMeta, ItemSource, ItemStatus, StoredRecord, Throughput, MAX_ITEMS};
use crate::messages::DecodingMode;

#[derive(Clone, Debug, PartialEq)]
pub struct Item {
    pub source: ItemSource,
    pub status: ItemStatus,
    /// Shared, so that redrawing the strip (which clones the item list) copies no image data.
    pub thumb: Option<Arc<str>>,
}

#[derive(Clone, Copy)]
pub struct Batch {
    pub items: RwSignal<Vec<Item>>,
    /// The file of each item in this session (a video's frames share one), by item key.
    files: StoredValue<HashMap<String, File>, LocalStorage>,
    /// Finished items' records, by item key: the exports and click-to-view read them.
    records: StoredValue<HashMap<String, StoredRecord>>,
    /// The instruction the items were (or are being) labelled with.
    pub instruction: RwSignal<String>,
    pub running: RwSignal<bool>,
    /// Cancel: stop after the current item.
    pub stopping: RwSignal<bool>,
    pub rate: RwSignal<Throughput>,
    /// What the user should know about the batch (storage, resume), under its progress bar.
    pub note: RwSignal<Option<String>>,
    /// Frames per second sampled from a dropped video.
    pub video_rate: RwSignal<f64>,
    /// The item shown in the main view, when the user clicked one.
    pub viewing: RwSignal<Option<String>>,
}

impl Batch {
    pub fn new() -> Batch {
        Batch {
            items: RwSignal::new(Vec::new()),
            files: StoredValue::new_local(HashMap::new()),
            records: StoredValue::new(HashMap::new()),
            instruction: RwSignal::new(String::new()),
            running: RwSignal::new(false),
            stopping: RwSignal::new(false),
            rate: RwSignal::new(Throughput::default()),
            note: RwSignal::new(None),
            video_rate: RwSignal::new(1.0),
            viewing: RwSignal::new(None),
        }
    }

    pub fn counts(&self) -> (usize, usize, usize) {
        self.items.with(|items| {
            let done = items.iter().filter(|i| i.status == ItemStatus::Done).count();
            let failed = items.iter().filter(|i| matches!(i.status, ItemStatus::Failed(_))).count();
            (done + failed, failed, items.len())
        })
    }

    pub fn records_in_order(&self) -> Vec<StoredRecord> {
        let keys: Vec<String> = self.items.with_untracked(|items| items.iter().map(|i| i.source.key.clone()).collect());
        self.records.with_value(|r| keys.iter().filter_map(|k| r.get(k).cloned()).collect())
    }

    /// Keep a finished item's record (stored or just made): the item's status and thumbnail.
    fn keep(&self, key: &str, record: StoredRecord) -> (ItemStatus, Option<Arc<str>>) {
        let status = record.failed().map_or(ItemStatus::Done, |e| ItemStatus::Failed(e.to_string()));
        let thumb = Some(record.thumb.as_str()).filter(|t| !t.is_empty()).map(Arc::from);
        self.records.update_value(|r| {
            r.insert(key.to_string(), record);
        });
        (status, thumb)
    }

    fn set_status(&self, key: &str, status: ItemStatus, thumb: Option<Arc<str>>) {
        self.items.update(|items| {
            if let Some(item) = items.iter_mut().find(|i| i.source.key == key) {
                item.status = status;
                if thumb.is_some() {
                    item.thumb = thumb;
                }
            }
        });
    }

    /// Show the stored batch of an earlier visit (after a reload or a crash).
    pub fn restore(self, state: AppState) {
        leptos::task::spawn_local(async move {
            let meta = match batch_store::load_meta().await {
                Ok(Some(meta)) => meta,
                Ok(None) => return,
                Err(e) => return self.note.set(Some(e)),
            };
            let mut items = Vec::new();
            let mut damaged = 0;
            for source in meta.items {
                let (status, thumb) = match batch_store::load_record(&record_file(&meta.instruction, &source.key)).await {
                    Ok(Some(record)) => self.keep(&source.key, record),
                    Ok(None) => (ItemStatus::Queued, None),
                    Err(_) => {
                        damaged += 1;
                        (ItemStatus::Queued, None)
                    }
                };
                items.push(Item { source, status, thumb });
            }
            let left = items.iter().filter(|i| i.status == ItemStatus::Queued).count();
            // Files dropped while storage was read come first: the stored batch is then not shown.
            if !self.items.with_untracked(Vec::is_empty) {
                return;
            }
            self.instruction.set(meta.instruction.clone());
            if state.instruction.get_untracked().trim().is_empty() {
                state.instruction.set(meta.instruction);
            }
            self.items.set(items);
            let mut note = format!("Restored from browser storage. {left} not labelled yet: add the same files or folder again, then Label, to continue.");
            if damaged > 0 {
                note += &format!(" {damaged} damaged record(s) will be labelled again.");
            }
            self.note.set(Some(if left == 0 { "Restored from browser storage: every item is labelled.".into() } else { note }));
        });
    }

    /// Add dropped or picked files: images become items, videos are sampled at `video_rate`.
    /// Files the batch already lists (the same name, size and time) are attached to their items,
    /// which is how a batch resumes after a reload.
    pub fn add(self, state: AppState, files: Vec<(String, File)>) {
        if self.running.get_untracked() {
            return state.error.set(Some("A batch is running: add files when it has finished or was cancelled.".into()));
        }
        leptos::task::spawn_local(async move {
            let rate = self.video_rate.get_untracked();
            let mut new_items = Vec::new();
            let mut skipped = Vec::new();
            for (name, file) in files {
                let key = file_key(&name, file.size(), file.last_modified());
                if file.type_().starts_with("video/") {
                    let times = match OpenVideo::open(&file).await {
                        Ok(video) => frame_times(video.duration_s(), rate),
                        Err(e) => Err(e),
                    };
                    match times {
                        Ok(times) => new_items.extend(times.into_iter().map(|t| (frame_source(&key, &name, t), file.clone()))),
                        Err(e) => skipped.push(format!("{name}: {e}")),
                    }
                } else {
                    new_items.push((ItemSource { key, name, time_s: None }, file));
                }
            }
            let mut added = 0;
            self.items.update(|items| {
                for (source, file) in new_items {
                    if !items.iter().any(|i| i.source.key == source.key) {
                        if items.len() >= MAX_ITEMS {
                            break;
                        }
                        items.push(Item { source: source.clone(), status: ItemStatus::Queued, thumb: None });
                        added += 1;
                    }
                    self.files.update_value(|f| {
                        f.insert(source.key, file);
                    });
                }
            });
            if !skipped.is_empty() {
                state.error.set(Some(format!("Not added: {}", skipped.join("; "))));
            }
            let total = self.items.with_untracked(Vec::len);
            self.note.set(Some(format!("{added} item(s) added, {total} in the batch. Type an instruction and press Label.")));
        });
    }

    /// Forget the batch, here and in browser storage.
    pub fn clear(self, state: AppState) {
        if self.running.get_untracked() {
            return;
        }
        self.items.set(Vec::new());
        self.files.set_value(HashMap::new());
        self.records.set_value(HashMap::new());
        self.viewing.set(None);
        self.note.set(None);
        state.pinned_view.set(false);
        leptos::task::spawn_local(async move {
            if let Err(e) = batch_store::clear().await {
                state.error.set(Some(e));
            }
        });
    }

    /// Label every item that has no record for the instruction in the box.
    pub fn start(self, state: AppState, worker: WorkerClient) {
        let instruction = state.instruction.get_untracked().trim().to_string();
        if instruction.is_empty() {
            return state.error.set(Some("Type an instruction or pick a suggestion, then Label.".into()));
        }
        if self.running.get_untracked() || state.job.get_untracked().is_some() || !state.model_ready() {
            return;
        }
        self.running.set(true);
        self.stopping.set(false);
        leptos::task::spawn_local(async move {
            if let Err(e) = self.prepare(&instruction).await {
                self.note.set(Some(e));
            }
            self.run(state, worker, &instruction).await;
            self.running.set(false);
            self.stopping.set(false);
        });
    }

    /// Make the stored batch this one and find the items already labelled with `instruction`.
    async fn prepare(self, instruction: &str) -> Result<(), String> {
        let old = self.instruction.get_untracked();
        let sources: Vec<ItemSource> = self.items.with_untracked(|items| items.iter().map(|i| i.source.clone()).collect());
        if old != instruction {
            // Another instruction: the records of the old one are not this batch's any more.
            for source in &sources {
                let _ = batch_store::remove(&record_file(&old, &source.key)).await;
            }
            self.records.set_value(HashMap::new());
            self.items.update(|items| items.iter_mut().for_each(|i| i.status = ItemStatus::Queued));
            self.instruction.set(instruction.to_string());
        }
        for source in &sources {
            if self.records.with_value(|r| r.contains_key(&source.key)) {
                continue;
            }
            if let Ok(Some(record)) = batch_store::load_record(&record_file(instruction, &source.key)).await {
                let (status, thumb) = self.keep(&source.key, record);
                self.set_status(&source.key, status, thumb);
            }
        }
        batch_store::save_meta(&BatchMeta { instruction: instruction.to_string(), items: sources }).await
    }

    /// The loop: the next queued item that has a file, until none is left or the user cancels.
    async fn run(self, state: AppState, worker: WorkerClient, instruction: &str) {
        let started = js_sys::Date::now();
        let mut finished = 0;
        let mut video: Option<(String, OpenVideo)> = None;
        self.rate.set(Throughput::default());
        loop {
            if self.stopping.get_untracked() {
                break;
            }
            let next = self.items.with_untracked(|items| {
                items.iter().find(|i| i.status == ItemStatus::Queued && self.files.with_value(|f| f.contains_key(&i.source.key))).map(|i| i.source.clone())
            });
            let Some(source) = next else { break };
            let Some(file) = self.files.with_value(|f| f.get(&source.key).cloned()) else { break };
            self.set_status(&source.key, ItemStatus::Running, None);
            let outcome = self.label(state, worker, instruction, &source, &file, &mut video).await;
            let record = match outcome {
                Ok(Some(record)) => record,
                // Cancelled from the instruction box, or the engine stopped: the item waits.
                Ok(None) => {
                    self.set_status(&source.key, ItemStatus::Queued, None);
                    break;
                }
                Err(message) => StoredRecord::error(source.clone(), &message, String::new()),
            };
            if let Err(e) = batch_store::save_record(&record_file(instruction, &source.key), &record).await {
                self.note.set(Some(format!("{e}: results are kept on this page only; export them before leaving.")));
            }
            let (status, thumb) = self.keep(&source.key, record);
            self.set_status(&source.key, status, thumb);
            finished += 1;
            self.rate.set(Throughput { finished, elapsed_ms: js_sys::Date::now() - started });
        }
        let left = self.items.with_untracked(|items| items.iter().filter(|i| i.status == ItemStatus::Queued).count());
        let without_file = self.items.with_untracked(|items| items.iter().filter(|i| i.status == ItemStatus::Queued && self.files.with_value(|f| !f.contains_key(&i.source.key))).count());
        self.note.set(Some(match (left, without_file) {
            (0, _) => "Every item is labelled and stored.".to_string(),
            (_, 0) => format!("Stopped: {left} item(s) not labelled yet. Label continues with them."),
            (_, n) => format!("{n} item(s) have no file in this session: add the same files or folder again, then Label, to continue."),
        }));
    }

    /// One item: decode (or seek the video), show it unless the user is viewing another, run the
    /// job and make its record. `Ok(None)`: the job was cancelled or the engine stopped.
    async fn label(self, state: AppState, worker: WorkerClient, instruction: &str, source: &ItemSource, file: &File, video: &mut Option<(String, OpenVideo)>) -> Result<Option<StoredRecord>, String> {
        let canvas = match source.time_s {
            None => decode(file, &source.name).await?.canvas,
            Some(t) => {
                let file_key = source.key.rsplit_once('@').map_or(source.key.as_str(), |(k, _)| k).to_string();
                if video.as_ref().map(|(k, _)| k) != Some(&file_key) {
                    *video = Some((file_key.clone(), OpenVideo::open(file).await?));
                }
                let (_, open) = video.as_ref().ok_or("no video")?;
                open.frame_at(t).await?
            }
        };
        let thumb = thumbnail(&canvas);
        if !state.pinned_view.get_untracked() {
            show(state, canvas.clone(), &source.name, None);
            self.viewing.set(Some(source.key.clone()));
        }
        let job = start_job(state, worker, &canvas, instruction.to_string(), None, DecodingMode::Fast)?;
        drop(canvas);
        match state.wait_for(job).await {
            Ok(JobEnd::Done(result)) => {
                let line = crate::export::result_label_line(&source.name, &result);
                Ok(Some(StoredRecord { source: source.clone(), line, result: Some(result), thumb }))
            }
            Ok(JobEnd::Failed(message)) if message.starts_with("the engine stopped") => Ok(None),
            Ok(JobEnd::Failed(message)) => Err(message),
            Ok(JobEnd::Cancelled) | Err(_) => Ok(None),
        }
    }

    /// Show item `key` in the main view: its image (from its file in this session, else its
    /// thumbnail scaled to the image's size) and its result.
    pub fn view(self, state: AppState, key: String) {
        let record = self.records.with_value(|r| r.get(&key).cloned());
        let file = self.files.with_value(|f| f.get(&key).cloned());
        let source = self.items.with_untracked(|items| items.iter().find(|i| i.source.key == key).map(|i| (i.source.clone(), i.thumb.clone())));
        let Some((source, thumb)) = source else { return };
        if state.job.get_untracked().is_some() {
            state.pinned_view.set(true);
        }
        self.viewing.set(Some(key));
        leptos::task::spawn_local(async move {
            let result = record.as_ref().and_then(|r| r.result.clone());
            let canvas = match (&file, source.time_s) {
                (Some(file), None) => decode(file, &source.name).await.map(|d| d.canvas),
                (Some(file), Some(t)) => match OpenVideo::open(file).await {
                    Ok(video) => video.frame_at(t).await,
                    Err(e) => Err(e),
                },
                (None, _) => Err("no file".into()),
            };
            let canvas = match canvas {
                Ok(c) => c,
                Err(_) => match (thumb, &result) {
                    (Some(thumb), Some(r)) => match from_thumbnail(thumb.as_ref(), r.image_width, r.image_height).await {
                        Ok(c) => c,
                        Err(e) => return state.error.set(Some(e)),
                    },
                    _ => return state.error.set(Some(format!("{}: its file is not in this session; add it again to see it", source.name))),
                },
            };
            show(state, canvas, &source.name, result);
        });
    }
}

/// Put `canvas` in the main view with `result` drawn on it.
fn show(state: AppState, canvas: HtmlCanvasElement, name: &str, result: Option<crate::messages::JobResult>) {
    let serial = state.image.get_untracked().map_or(1, |i| i.serial + 1);
    let (width, height) = (canvas.width(), canvas.height());
    state.source.set_value(Some(canvas));
    state.hovered.set(None);
    state.hidden_classes.set(Vec::new());
    state.region.set(None);
    state.result.set(result);
    state.image.set(Some(ImageInfo { name: name.to_string(), width, height, serial }));
}

/// A canvas of the original size from a stored thumbnail (after a reload, before the files are
/// added again): blurry, but the result lands where it belongs.
async fn from_thumbnail(data_url: &str, width: u32, height: u32) -> Result<HtmlCanvasElement, String> {
    let document = web_sys::window().and_then(|w| w.document()).ok_or("no document")?;
    let img: web_sys::HtmlImageElement = wasm_bindgen::JsCast::unchecked_into(document.create_element("img").map_err(|_| "cannot create an image")?);
    img.set_src(data_url);
    wasm_bindgen_futures::JsFuture::from(img.decode()).await.map_err(|_| "the stored thumbnail is unreadable")?;
    let canvas = new_canvas(width.max(1), height.max(1))?;
    let ctx = context_2d(&canvas).ok_or("no 2D canvas context")?;
    ctx.draw_image_with_html_image_element_and_dw_and_dh(&img, 0.0, 0.0, width as f64, height as f64).map_err(|_| "cannot draw the thumbnail")?;
    Ok(canvas)
}
