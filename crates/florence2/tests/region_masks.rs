//! Masks for another model's boxes (`tasks::box_masks` + `Florence2::run_routed`): the calls for
//! several boxes, run after one pass of the vision tower, give each box exactly what the router's
//! own path gives for that box drawn as a region ("segment this" + region: one job per box,
//! `<REGION_TO_SEGMENTATION>` routed, the vision tower run each time), ids and parsed answer.

mod common;

use std::ops::ControlFlow;

use common::Case;
use visionllm_florence2::{Decoding, Instruction, JobEvent, RgbImage};
use visionllm_gpu::DType;
use visionllm_tasks::box_masks::{mask_calls, mask_route};
use visionllm_tasks::{BoundingBox, Florence2Tokenizer, ImageSize, Instance, Shape, Task};

#[test]
fn one_vision_pass_for_many_boxes_equals_one_routed_job_per_box() {
    let case = Case::open("tiny224");
    let model = case.model(DType::F32);
    let tokenizer = Florence2Tokenizer::from_bytes(&std::fs::read(case.dir.join("tokenizer.json")).unwrap()).unwrap();
    let img = image::open(case.dir.join("image.png")).unwrap().to_rgb8();
    let image = RgbImage { rgb: img.as_raw(), width: img.width(), height: img.height() };
    let size = ImageSize::new(img.width(), img.height());
    // Awkward boxes: one tiny, one the whole image, one given corner-swapped.
    let boxes = [BoundingBox::new(3.0, 4.0, 9.0, 11.0), BoundingBox::new(0.0, 0.0, size.width as f32, size.height as f32), BoundingBox::new(250.0, 150.0, 40.0, 20.0)];
    let instances: Vec<Instance> = boxes.iter().map(|b| Instance { label: "thing".into(), shape: Shape::Box(*b), score: None }).collect();
    let calls = mask_calls(&instances, size);
    assert_eq!(calls.len(), 3);
    let mut vision_passes = 0;
    let mut count = |e: JobEvent| {
        if matches!(e, JobEvent::Stage(visionllm_florence2::JobStage::Vision)) {
            vision_passes += 1;
        }
        ControlFlow::Continue(())
    };
    let together = pollster::block_on(model.run_routed(&tokenizer, image, mask_route(&calls), &Decoding::Greedy, 12, &mut count)).unwrap();
    assert_eq!(vision_passes, 1);
    assert_eq!(together.answers.len(), 3);
    for (b, answer) in boxes.iter().zip(&together.answers) {
        let request = Instruction { text: "segment this", region: Some(*b), decoding: Decoding::Greedy, max_new_tokens: 12 };
        let alone = pollster::block_on(model.run_instruction(&tokenizer, image, &request, &mut |_| ControlFlow::Continue(()))).unwrap();
        assert_eq!(alone.routed.tasks, vec![answer.call.clone()], "the router's call for the drawn box is the box's mask call");
        assert_eq!(alone.answers[0].call.task, Task::RegionToSegmentation);
        assert_eq!(alone.answers[0].generated_text, answer.generated_text);
        assert_eq!(alone.answers[0].answer, answer.answer);
    }
}
