//! Camera mode: the live video from `getUserMedia`, and the instruction run on its newest frame
//! whenever the engine is free. There is never a queue: a frame is taken only when the previous
//! answer is in, so a slow GPU shows fewer answers per second, not older ones. The last answer is
//! drawn over the live video; frames per second count answered frames. Stop ends the tracks, which
//! releases the camera (its light goes off).

use std::collections::VecDeque;

use leptos::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_sys::{HtmlVideoElement, MediaStream, MediaStreamConstraints, MediaStreamTrack};

use super::browser_async::sleep_ms;
use super::drawing::{draw_over, Overlay};
use super::instruction_box::start_job;
use super::media::frame_of;
use super::state::{AppState, ImageInfo, JobEnd};
use super::worker_client::WorkerClient;
use crate::messages::{DecodingMode, JobResult};
use crate::palette::classes_in_order;
use crate::results::display;

/// Answers per second are measured over this many of the latest answers.
const FPS_WINDOW: usize = 10;

#[derive(Clone, Copy)]
pub struct Camera {
    pub on: RwSignal<bool>,
    stream: StoredValue<Option<MediaStream>, LocalStorage>,
    video: StoredValue<Option<HtmlVideoElement>, LocalStorage>,
    /// Bumped by every start and stop: a loop of an earlier start sees it and ends.
    generation: StoredValue<u64>,
    pub fps: RwSignal<Option<f64>>,
    pub answered: RwSignal<usize>,
    /// The newest answer, drawn over the video.
    pub last: RwSignal<Option<JobResult>>,
    pub status: RwSignal<String>,
}

impl Camera {
    pub fn new() -> Camera {
        Camera {
            on: RwSignal::new(false),
            stream: StoredValue::new_local(None),
            video: StoredValue::new_local(None),
            generation: StoredValue::new(0),
            fps: RwSignal::new(None),
            answered: RwSignal::new(0),
            last: RwSignal::new(None),
            status: RwSignal::new(String::new()),
        }
    }

    pub fn start(self, state: AppState, worker: WorkerClient) {
        if self.on.get_untracked() {
            return;
        }
        self.generation.update_value(|g| *g += 1);
        let generation = self.generation.get_value();
        leptos::task::spawn_local(async move {
            let stream = match open_camera().await {
                Ok(stream) => stream,
                Err(e) => return state.error.set(Some(e)),
            };
            if self.generation.get_value() != generation {
                return stop_tracks(&stream);
            }
            self.stream.set_value(Some(stream));
            self.fps.set(None);
            self.answered.set(0);
            self.last.set(None);
            self.status.set("Starting the camera…".into());
            self.on.set(true);
            self.run(state, worker, generation).await;
        });
    }

    pub fn stop(self) {
        self.generation.update_value(|g| *g += 1);
        if let Some(stream) = self.stream.try_update_value(|s| s.take()).flatten() {
            stop_tracks(&stream);
        }
        if let Some(video) = self.video.get_value() {
            video.set_src_object(None);
        }
        self.on.set(false);
    }

    fn attach(self, video: HtmlVideoElement) {
        self.stream.with_value(|s| video.set_src_object(s.as_ref()));
        let _ = video.play();
        self.video.set_value(Some(video));
    }

    async fn run(self, state: AppState, worker: WorkerClient, generation: u64) {
        let mut answered_at: VecDeque<f64> = VecDeque::new();
        while self.generation.get_value() == generation {
            let instruction = state.instruction.get_untracked().trim().to_string();
            let video = self.video.get_value();
            let ready = video.as_ref().is_some_and(|v| v.ready_state() >= 2 && v.video_width() > 0);
            if instruction.is_empty() {
                self.status.set("Type an instruction: it runs on the newest frame whenever the engine is free.".into());
            }
            let (Some(video), true, false, true, false) = (video, ready, instruction.is_empty(), state.model_ready(), state.job.get_untracked().is_some()) else {
                sleep_ms(100).await;
                continue;
            };
            let frame = match frame_of(&video) {
                Ok(frame) => frame,
                Err(e) => {
                    self.status.set(e);
                    sleep_ms(200).await;
                    continue;
                }
            };
            state.pinned_view.set(false);
            let job = match start_job(state, worker, &frame, instruction, None, DecodingMode::Fast) {
                Ok(job) => job,
                Err(e) => {
                    self.status.set(e);
                    sleep_ms(200).await;
                    continue;
                }
            };
            match state.wait_for(job).await {
                Ok(JobEnd::Done(result)) => {
                    let now = js_sys::Date::now();
                    answered_at.push_back(now);
                    if answered_at.len() > FPS_WINDOW {
                        answered_at.pop_front();
                    }
                    if let (Some(first), n) = (answered_at.front(), answered_at.len()) {
                        if n >= 2 && now > *first {
                            self.fps.set(Some((n - 1) as f64 * 1000.0 / (now - first)));
                        }
                    }
                    self.answered.update(|n| *n += 1);
                    // The frame and its answer also become the main view's, for the exports and
                    // for what is shown when the camera stops.
                    let serial = state.image.get_untracked().map_or(1, |i| i.serial + 1);
                    let (width, height) = (frame.width(), frame.height());
                    state.source.set_value(Some(frame));
                    state.image.set(Some(ImageInfo { name: "camera frame".into(), width, height, serial }));
                    self.last.set(Some(result));
                    self.status.set(String::new());
                }
                Ok(JobEnd::Failed(e)) => {
                    self.status.set(e);
                    sleep_ms(500).await;
                }
                Ok(JobEnd::Cancelled) | Err(_) => sleep_ms(100).await,
            }
        }
    }
}

async fn open_camera() -> Result<MediaStream, String> {
    let devices = web_sys::window()
        .and_then(|w| w.navigator().media_devices().ok())
        .ok_or("this browser gives pages no camera (navigator.mediaDevices is missing; it needs https or localhost)")?;
    let constraints = MediaStreamConstraints::new();
    constraints.set_video(&true.into());
    constraints.set_audio(&false.into());
    let promise = devices.get_user_media_with_constraints(&constraints).map_err(|_| "the camera cannot be asked for")?;
    let stream = JsFuture::from(promise).await.map_err(|e| {
        let name = crate::opfs::error_name(&e).unwrap_or_default();
        match name.as_str() {
            "NotAllowedError" => "the camera was not allowed: allow it for this site in the browser, then start again".to_string(),
            "NotFoundError" => "no camera was found".to_string(),
            "NotReadableError" => "the camera is in use by another program".to_string(),
            _ => crate::worker::js_error("opening the camera", e),
        }
    })?;
    Ok(stream.unchecked_into())
}

fn stop_tracks(stream: &MediaStream) {
    for track in stream.get_tracks().iter() {
        track.unchecked_into::<MediaStreamTrack>().stop();
    }
}

#[component]
pub fn CameraView(state: AppState, camera: Camera) -> impl IntoView {
    let video_ref = NodeRef::<leptos::html::Video>::new();
    let overlay_ref = NodeRef::<leptos::html::Canvas>::new();
    Effect::new(move |_| {
        if let Some(video) = video_ref.get() {
            camera.attach(video);
        }
    });
    Effect::new(move |_| {
        let Some(canvas) = overlay_ref.get() else { return };
        camera.last.with(|r| {
            let Some(r) = r else { return };
            if canvas.width() != r.image_width || canvas.height() != r.image_height {
                canvas.set_width(r.image_width);
                canvas.set_height(r.image_height);
            }
            let d = display(r);
            let classes = classes_in_order(d.items.iter().map(|i| i.class.as_str()));
            let hidden = state.hidden_classes.get();
            draw_over(&canvas, r.image_width, &Overlay { items: &d.items, classes: &classes, hidden: &hidden, hovered: None, region: None });
            canvas.set_attribute("data-items", &d.items.len().to_string()).ok();
        });
    });
    view! {
        <div class="camera-view" data-testid="camera">
            <div class="camera-stage">
                <video node_ref=video_ref autoplay=true muted=true playsinline=true data-testid="camera-video"></video>
                <canvas node_ref=overlay_ref data-testid="camera-overlay" data-items="0"></canvas>
            </div>
            <p class="caption">
                <span data-testid="camera-fps" data-answered=move || camera.answered.get()>
                    {move || match camera.fps.get() {
                        Some(f) => format!("{f:.2} answers/s · {} answered", camera.answered.get()),
                        None => format!("{} answered", camera.answered.get()),
                    }}
                </span>
                " "
                <span>{move || camera.status.get()}</span>
                " "
                <button data-testid="camera-stop" on:click=move |_| camera.stop()>"Stop camera"</button>
            </p>
        </div>
    }
}
