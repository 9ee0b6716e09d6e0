fn main() { eprintln!("visionllm: no subcommands yet"); std::process::exit(2); }
