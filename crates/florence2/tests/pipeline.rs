//! The whole path a user's image takes, against the reference: decode the PNG, preprocess with our
//! Pillow port, build the prompt with `visionllm-tasks`, run the model. Uses the photograph case
//! (another geometry than the other fixtures) and its phrase-grounding prompt.

mod common;

use common::{run_and_compare, Case};
use visionllm_florence2::generate::Decoding;
use visionllm_florence2::preprocess;
use visionllm_gpu::{DType, Recorder};
use visionllm_tasks::tokenizer::Florence2Tokenizer;

fn decode_png(case: &Case) -> (Vec<u8>, usize, usize) {
    let img = image::open(case.dir.join("image.png")).unwrap().to_rgb8();
    let (w, h) = img.dimensions();
    (img.into_raw(), w as usize, h as usize)
}

#[test]
fn preprocessing_reproduces_reference_pixels_for_every_case() {
    for name in ["tiny224", "tiny768", "geom2_photo"] {
        let case = Case::open(name);
        let (rgb, w, h) = decode_png(&case);
        let s = case.input_size();
        let resized = preprocess::resize_bicubic_rgb(&rgb, w, h, s, s);
        // The fixture stores the resized image CHW.
        let want = case.u8("pixel_values_u8");
        let got: Vec<u8> = (0..3 * s * s).map(|i| resized[(i % (s * s)) * 3 + i / (s * s)]).collect();
        assert_eq!(got, want, "{name}: resized pixels differ from PIL");
        assert_eq!(preprocess::pixel_values(&rgb, w, h, s), case.pixel_values(), "{name}: normalised pixels");
    }
}

#[test]
fn photo_grounding_prompt_end_to_end() {
    let case = Case::open("geom2_photo");
    let tokenizer = Florence2Tokenizer::from_bytes(&std::fs::read(case.dir.join("tokenizer.json")).unwrap()).unwrap();
    for device in common::devices() {
        grounding_on(&case, &tokenizer, &device);
    }
}

fn grounding_on(case: &Case, tokenizer: &Florence2Tokenizer, device: &visionllm_gpu::Device) {
    let model = case.model_on(device, DType::F32);
    let (rgb, w, h) = decode_png(case);
    let s = case.input_size();
    assert_eq!(model.input_size(), s, "the model's input size is its preprocessor's");
    let pixels = model.pixel_values(&rgb, w, h).unwrap();
    let num_image_tokens = case.f32("projector.image_features").len() / model.config().text_config.d_model;
    let ids = tokenizer.encoder_input_ids("<CAPTION_TO_PHRASE_GROUNDING>A cat on the floor", num_image_tokens).unwrap();
    assert_eq!(ids, case.ids("grounding.input_ids"), "prompt ids");
    let compared = run_and_compare(case, device, 1e-4, |n| format!("grounding.{}", n.replace("decoder.", "decoder.step0.")), |rec, tap| {
        let features = model.image_features(rec, &pixels, &mut |_, _| {}).unwrap();
        let encoded = model.encode(rec, &ids, &features, tap).unwrap();
        model.first_step_logits(rec, &encoded, tap).unwrap();
    });
    assert_eq!(compared, ["grounding.decoder.step0.logits", "grounding.encoder.inputs_embeds", "grounding.encoder.last_hidden_state"], "on {device:?}");
    let mut rec = Recorder::new(device);
    let features = model.image_features(&mut rec, &pixels, &mut |_, _| {}).unwrap();
    rec.submit();
    let want = case.ids("grounding.greedy_ids");
    let got = common::generate(&model, &ids, &features, &Decoding::Greedy, want.len() - 1).unwrap();
    assert_eq!(got.ids, want, "on {device:?}");
    let want = case.ids("grounding.beam3_ids");
    let got = common::generate(&model, &ids, &features, &Decoding::florence_beams(3), want.len() - 1).unwrap();
    assert_eq!(got.ids, want, "on {device:?}");
}
