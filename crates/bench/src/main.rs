//! `visionllm-bench`: the benchmarks of issue #14 (see README.md beside this crate).
//!
//!   visionllm-bench kernels [--quick] [--only NAME] [--json]
//!   visionllm-bench model --size base|large|demo [--json] [--image-size N] [--tokens N]
//!                   [--runs N] [--warmup-size N] [--dtype f32|f16] [--weights f32|q8|q4]
//!                   [--backend gpu|cpu] [--threads N]
//!   visionllm-bench qwen --source DIR [--weights f32|q8|q4] [--image-size N] [--tokens N]
//!                   [--runs N] [--backend gpu|cpu] [--threads N] [--json]
//!
//! JSON goes to stdout, progress to stderr.

mod burn_peer;
mod cases;
mod inputs;
mod kernels;
mod model;
mod ours;
mod qwen;
mod random_model;
mod stages;
mod timing;

use visionllm_gpu::{DType, Device, Gpu, Overrides};
use visionllm_weights::Stored;

const USAGE: &str = "usage: visionllm-bench kernels [--quick] [--only NAME] [--json]
       visionllm-bench model --size base|large|demo [--json] [--image-size N] [--tokens N] [--runs N]
                       [--warmup-size N] [--dtype f32|f16] [--weights f32|q8|q4] [--backend gpu|cpu] [--threads N]
       visionllm-bench qwen --source DIR [--weights f32|q8|q4] [--image-size N] [--tokens N] [--runs N]
                       [--backend gpu|cpu] [--threads N] [--json]";

/// `--flag` present / `--key value` taken, the rest refused: a typo must not silently run the
/// default benchmark for minutes.
struct Args(Vec<String>);

impl Args {
    fn flag(&mut self, name: &str) -> bool {
        let before = self.0.len();
        self.0.retain(|a| a != name);
        self.0.len() != before
    }

    fn value(&mut self, name: &str) -> Result<Option<String>, String> {
        let Some(i) = self.0.iter().position(|a| a == name) else { return Ok(None) };
        if i + 1 >= self.0.len() {
            return Err(format!("{name} needs a value"));
        }
        let v = self.0.remove(i + 1);
        self.0.remove(i);
        Ok(Some(v))
    }

    fn number(&mut self, name: &str) -> Result<Option<usize>, String> {
        self.value(name)?.map(|v| v.parse().map_err(|_| format!("{name} {v}: not a number"))).transpose()
    }

    fn done(self) -> Result<(), String> {
        match self.0.first() {
            Some(a) => Err(format!("unknown argument {a}")),
            None => Ok(()),
        }
    }
}

/// `--backend gpu|cpu` (default gpu) and, for the CPU, `--threads N`.
fn backend(args: &mut Args) -> Result<Device, String> {
    match args.value("--backend")?.as_deref() {
        None | Some("gpu") => Ok(Device::Gpu(Gpu::new_blocking(Overrides::NONE).map_err(|e| e.to_string())?)),
        Some("cpu") => {
            if let Some(n) = args.number("--threads")? {
                visionllm_gpu::cpu::set_threads(n).map_err(|e| format!("--threads {n}: {e}"))?;
            }
            Ok(Device::cpu())
        }
        Some(other) => Err(format!("--backend {other}: gpu or cpu")),
    }
}

fn main() {
    if let Err(e) = run() {
        eprintln!("visionllm-bench: {e}\n{USAGE}");
        std::process::exit(2);
    }
}

fn run() -> Result<(), String> {
    let mut args = Args(std::env::args().skip(1).collect());
    if args.0.is_empty() {
        return Err("no command".into());
    }
    let command = args.0.remove(0);
    let json = args.flag("--json");
    match command.as_str() {
        "kernels" => {
            let gpu = Gpu::new_blocking(Overrides::NONE).map_err(|e| e.to_string())?;
            let quick = args.flag("--quick");
            let only = args.value("--only")?;
            args.done()?;
            kernels::run(&gpu, quick, only.as_deref(), json)
        }
        "model" => {
            let opts = model::Opts {
                size: args.value("--size")?.unwrap_or_else(|| "base".into()),
                image: args.number("--image-size")?,
                tokens: args.number("--tokens")?,
                runs: args.number("--runs")?,
                warmup_image: args.number("--warmup-size")?.unwrap_or(192),
                dtype: match args.value("--dtype")?.as_deref() {
                    None => None,
                    Some("f32") => Some(DType::F32),
                    Some("f16") => Some(DType::F16),
                    Some(other) => return Err(format!("--dtype {other}: f32 or f16")),
                },
                weights: match args.value("--weights")?.as_deref() {
                    None => Stored::F32,
                    Some(w) => Stored::parse(w).ok_or(format!("--weights {w}: f32, f16, q8 or q4"))?,
                },
                json,
            };
            let device = backend(&mut args)?;
            args.done()?;
            model::run(&device, &opts)
        }
        "qwen" => {
            let opts = qwen::Opts {
                source: args.value("--source")?.ok_or("qwen needs --source DIR (make_random_checkpoint.py qwen3vl-2b DIR)")?.into(),
                weights: match args.value("--weights")?.as_deref() {
                    None => Stored::Q4,
                    Some(w) => Stored::parse(w).ok_or(format!("--weights {w}: f32, f16, q8 or q4"))?,
                },
                image: args.number("--image-size")?.unwrap_or(448),
                tokens: args.number("--tokens")?.unwrap_or(20),
                runs: args.number("--runs")?.unwrap_or(1),
                json,
            };
            let device = backend(&mut args)?;
            args.done()?;
            qwen::run(&device, &opts)
        }
        other => Err(format!("unknown command {other}")),
    }
}
