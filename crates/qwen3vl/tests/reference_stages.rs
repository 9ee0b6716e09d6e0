//! Every stage against the reference (transformers' Qwen3VLForConditionalGeneration on tiny
//! random checkpoints: `tests/reference/qwen3vl`), in f32 within 1e-4: preprocessing (Pillow's
//! resize byte for byte, patches), the prompt's ids and multimodal positions, each ViT block,
//! the DeepStack features and image embeddings, each decoder layer before and after DeepStack,
//! the final norm, the last logits, one KV-cache decode step, and the greedy ids exactly.
#![cfg(not(target_arch = "wasm32"))]

mod common;

use common::{devices, run_and_compare, Case, CASES};
use visionllm_gpu::{conformance, DType, Recorder};
use visionllm_qwen3vl::positions::Grid;

const RTOL: f32 = 1e-4;

fn grid(case: &Case) -> Grid {
    let thw = case.ids("image_grid_thw");
    assert_eq!(thw[0], 1, "a still image");
    Grid { h: thw[1] as usize, w: thw[2] as usize }
}

#[test]
fn preprocessing_matches_the_processor() {
    for name in CASES {
        let case = Case::open(name);
        let model = case.model(DType::F32);
        let (w, h, rgb) = case.image();
        let resized = case.u8("resized_u8");
        let (rh, rw) = model.processor.resized_size(h, w).unwrap();
        assert_eq!(rh * rw * 3, resized.len(), "{name}: resized size");
        let ours = visionllm_modelkit::pillow_resize::resize_bicubic_rgb(&rgb, w, h, rw, rh);
        assert!(ours == resized, "{name}: the resize differs from Pillow's");
        let (patches, g) = model.pixel_values(&rgb, w, h).unwrap();
        assert_eq!(g, grid(&case), "{name}: grid");
        let want = case.f32("pixel_values");
        // Normalisation is one f32 formula per byte value: exact.
        assert!(patches == want, "{name}: pixel values differ");
    }
}

#[test]
fn prompt_ids_and_positions_match() {
    for name in CASES {
        let case = Case::open(name);
        let model = case.model(DType::F32);
        let prompt = model.prompt(case.system().as_deref(), &case.prompt_text(), grid(&case)).unwrap();
        assert_eq!(prompt.ids, case.ids("input_ids"), "{name}: input ids");
        let want = case.i64s("position_ids");
        let l = prompt.ids.len();
        let got: Vec<i64> = (0..3).flat_map(|a| prompt.positions(a).iter().map(|&p| p as i64).collect::<Vec<_>>()).collect();
        assert_eq!(got, want, "{name}: multimodal positions");
        // Decoding continues from max + 1 on all three axes.
        let decode = case.i64s("decode.position_ids");
        let steps = decode.len() / 3;
        assert_eq!(decode[0], prompt.next_position as i64, "{name}: position of the first generated token");
        assert_eq!(decode[steps], decode[0]);
        assert!(l > 0);
    }
}

#[test]
fn vision_tower_matches_each_stage() {
    for (name, device) in CASES.iter().flat_map(|n| devices().into_iter().map(move |d| (n, d))) {
        let case = Case::open(name);
        let model = case.model_on(&device, DType::F32);
        let patches = case.f32("pixel_values");
        let compared = run_and_compare(&case, &device, RTOL, |rec, tap| {
            model.image_features(rec, &patches, grid(&case), tap).unwrap();
        });
        for must in ["vision.patch_embed", "vision.pos_embed", "vision.rotary_cos", "vision.block0", "vision.deepstack0", "vision.image_embeds"] {
            assert!(compared.iter().any(|n| n == must), "{name} on {device:?}: {must} not compared");
        }
    }
}

#[test]
fn prefill_and_decode_step_match() {
    for (name, device) in CASES.iter().flat_map(|n| devices().into_iter().map(move |d| (n, d))) {
        let case = Case::open(name);
        let model = case.model_on(&device, DType::F32);
        let patches = case.f32("pixel_values");
        let prompt = model.prompt(case.system().as_deref(), &case.prompt_text(), grid(&case)).unwrap();
        let greedy = case.ids("greedy_ids");
        let mut state = None;
        let mut logits = None;
        let compared = run_and_compare(&case, &device, RTOL, |rec, tap| {
            let image = model.image_features(rec, &patches, prompt.grid, &mut |_, _| {}).unwrap();
            let mut s = model.start(rec, &prompt, 4);
            logits = Some(model.prefill(rec, &mut s, &prompt, &image, tap).unwrap());
            state = Some(s);
        });
        for must in ["prefill.inputs_embeds", "prefill.rotary_cos", "prefill.layer0.before_deepstack", "prefill.layer0", "prefill.last_hidden_state"] {
            assert!(compared.iter().any(|n| n == must), "{name}: {must} not compared");
        }
        let read = |rec: Recorder, t: &visionllm_gpu::Tensor| {
            let mut rec = rec;
            let s = rec.stage_read(t).unwrap();
            rec.submit();
            pollster::block_on(s.read_f32(&device)).unwrap()
        };
        let got = read(Recorder::new(&device), logits.as_ref().unwrap());
        conformance::compare(&got, &case.f32("prefill.last_logits"), RTOL, &format!("{name}: prefill.last_logits")).unwrap();
        let mut state = state.unwrap();
        let mut rec = Recorder::new(&device);
        let step = model.decode_step(&mut rec, &mut state, &prompt, 0, greedy[0]).unwrap();
        let got = read(rec, &step);
        conformance::compare(&got, &case.f32("decode.step1.logits"), RTOL, &format!("{name}: decode.step1.logits")).unwrap();
    }
}

#[test]
fn greedy_ids_equal_the_reference() {
    for (name, device) in CASES.iter().flat_map(|n| devices().into_iter().map(move |d| (n, d))) {
        let case = Case::open(name);
        let model = case.model_on(&device, DType::F32);
        let (w, h, rgb) = case.image();
        let (patches, g) = model.pixel_values(&rgb, w, h).unwrap();
        let want = case.ids("greedy_ids");
        let mut streamed = Vec::new();
        let out = pollster::block_on(model.generate_greedy(&patches, g, case.system().as_deref(), &case.prompt_text(), want.len(), &mut |step| {
            assert_eq!(step.new_tokens, step.ids.len(), "one id per step");
            streamed.push(*step.ids.last().expect("a step has made an id"));
            std::ops::ControlFlow::Continue(())
        })).unwrap();
        assert_eq!(out.ids, want, "{name}: greedy ids");
        assert_eq!(streamed, want, "{name}: streamed ids");
        assert!(!out.stopped);
        // A callback that stops after three tokens (the worker's Cancel) gets their prefix.
        let stop = |step: &visionllm_qwen3vl::Step| if step.ids.len() == 3 { std::ops::ControlFlow::Break(()) } else { std::ops::ControlFlow::Continue(()) };
        let out = pollster::block_on(model.generate_greedy(&patches, g, case.system().as_deref(), &case.prompt_text(), want.len(), &mut { stop })).unwrap();
        assert!(out.stopped, "{name}");
        assert_eq!(out.ids, want[..3], "{name}: stopped after three");
    }
}

#[test]
fn an_instruction_is_the_chat_request_through_greedy_decoding() {
    use visionllm_qwen3vl::{ChatReply, Qwen3Vl};
    use visionllm_tasks::chat_request::{ChatAnswer, BOXES_SYSTEM};
    use visionllm_tasks::ImageSize;
    let name = CASES[0];
    for device in devices() {
        let case = Case::open(name);
        let model = case.model_on(&device, DType::F32);
        let (w, h, rgb) = case.image();
        let size = ImageSize { width: w as u32, height: h as u32 };
        let mut steps = 0;
        let wall = std::time::Instant::now();
        let run = pollster::block_on(model.run_instruction(&rgb, size, "  find the cat and the dog ", 6, &mut |step| {
            steps = step.new_tokens;
            std::ops::ControlFlow::Continue(())
        }))
        .unwrap();
        let wall_ms = wall.elapsed().as_secs_f64() * 1000.0;
        // Independently: the system message the request names, the trimmed words, greedy ids.
        let (patches, g) = model.pixel_values(&rgb, w, h).unwrap();
        let direct = pollster::block_on(model.generate_greedy(&patches, g, Some(BOXES_SYSTEM), "find the cat and the dog", 6, &mut |_| std::ops::ControlFlow::Continue(()))).unwrap();
        assert_eq!(run.request.answer, ChatAnswer::Boxes { segment: false }, "{name}");
        assert_eq!(run.ids, direct.ids, "{name}: the instruction's ids are greedy's on the chat request");
        assert_eq!(steps, run.ids.len(), "{name}: the hook saw every step");
        assert_eq!(run.reply, ChatReply::read(model.chat.decode(&direct.ids).unwrap(), size), "{name}: the reply is the decoded ids, read");
        assert!(run.explanation.contains("JSON boxes"), "{}", run.explanation);
        let t = run.timings;
        assert!(t.first_token_ms > 0.0 && t.preprocess_ms > 0.0, "{t:?}: the vision tower, prefill and preprocessing take time");
        assert!(t.preprocess_ms + t.first_token_ms + t.decode_ms <= wall_ms, "{t:?}: the stages fit in the call's {wall_ms} ms");
        assert!(!run.stopped);
        // An empty instruction is refused before anything runs.
        assert!(Qwen3Vl::chat_request("   ").is_err());
    }
}
