//! A call's prompt (from the task table) is the reference's prompt for the call's task string
//! whenever the reference reads that string as this one call: its input holds no task token.
//! (The fixtures pin `construct_prompt` to the reference; this ties the two paths together.)
#![cfg(not(target_arch = "wasm32"))] // the browser runs tests/wasm.rs instead

use proptest::prelude::*;
use visionllm_tasks::{construct_prompt, Task, TaskCall};

fn input() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        2 => prop::sample::select(vec![
            " ", "\t", "\u{3000}", "\u{1c}", "\u{85}", "<loc_7>", "<", ">", "{input}", "<OD", "OD>", "<od>", "café", "",
        ]).prop_map(String::from),
        2 => "[a-zA-Z ]{1,8}",
        1 => any::<String>(),
    ];
    prop::collection::vec(piece, 0..12).prop_map(|v| v.concat())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 500, ..ProptestConfig::default() })]

    #[test]
    fn call_prompt_is_the_reference_prompt(task in prop::sample::select(Task::ALL.to_vec()), input in input()) {
        prop_assume!(!Task::ALL.iter().any(|t| input.contains(t.token())));
        let call = TaskCall::new(task, task.takes_input().then_some(input));
        prop_assert_eq!(Some(call.prompt()), construct_prompt(&call.task_text()).ok());
    }
}
