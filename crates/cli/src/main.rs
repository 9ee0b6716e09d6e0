//! `visionllm`: one binary, one file per subcommand. To add a subcommand, write `src/<name>_cmd.rs`
//! with `pub const USAGE: &str` and `pub fn run(args: &mut args::Args) -> Result<(), String>`, then
//! add one line to `SUBCOMMANDS`.

mod args;
mod backend;
mod convert_cmd;
mod eval_cmd;
mod instruction_run;
mod label_cmd;
mod label_inputs;
mod label_merge;
mod metrics;
mod parse_cmd;
mod qwen_run;
mod route_cmd;
mod run_cmd;
mod scene_cmd;

type Run = fn(&mut args::Args) -> Result<(), String>;

/// (name, one-line summary, usage, entry point)
const SUBCOMMANDS: &[(&str, &str, &str, Run)] = &[
    ("convert", "convert a checkpoint to the quantized sharded format", convert_cmd::USAGE, convert_cmd::run),
    ("eval", "score a model on fresh synthetic scenes (mAP, grounding, RES mIoU, captions)", eval_cmd::USAGE, eval_cmd::run),
    ("label", "label many images with one instruction (JSON Lines, COCO; resumable, shardable)", label_cmd::USAGE, label_cmd::run),
    ("parse", "parse generated text into boxes/masks JSON", parse_cmd::USAGE, parse_cmd::run),
    ("route", "show what an instruction does (task calls, options, explanation)", route_cmd::USAGE, route_cmd::run),
    ("run", "run a checkpoint (Florence-2 or Qwen3-VL) on an image", run_cmd::USAGE, run_cmd::run),
    ("scene", "write a synthetic scene (PNG + JSON with shapes and texts)", scene_cmd::USAGE, scene_cmd::run),
];

fn print_help() {
    println!(
        "visionllm: Florence-2 and Qwen3-VL tools\n\nUSAGE: visionllm <SUBCOMMAND> [OPTIONS]\n\nSUBCOMMANDS:"
    );
    for (name, summary, _, _) in SUBCOMMANDS {
        println!("  {name:<10} {summary}");
    }
    println!("\nRun `visionllm <SUBCOMMAND> --help` for its options.");
}

fn main() {
    // `std::env::args` panics on an argument that is not UTF-8; say which one instead.
    let argv: Result<Vec<String>, _> = std::env::args_os().skip(1).map(|a| a.into_string()).collect();
    let mut argv = match argv {
        Ok(argv) => argv.into_iter(),
        Err(bad) => {
            eprintln!("visionllm: the argument {bad:?} is not valid UTF-8 text");
            std::process::exit(2);
        }
    };
    let Some(name) = argv.next() else {
        print_help();
        std::process::exit(2);
    };
    if name == "--help" || name == "-h" || name == "help" {
        print_help();
        return;
    }
    let Some((_, _, usage, run)) = SUBCOMMANDS.iter().find(|(n, ..)| *n == name) else {
        eprintln!("visionllm: unknown subcommand {name:?}");
        print_help();
        std::process::exit(2);
    };
    let mut args = args::Args::new(argv.collect());
    if args.flag("--help") || args.flag("-h") {
        println!("{usage}");
        return;
    }
    if let Err(message) = run(&mut args) {
        eprintln!("visionllm {name}: {message}\n\n{usage}");
        std::process::exit(2);
    }
}
