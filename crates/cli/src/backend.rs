//! `--backend cpu|gpu|auto` and `--threads N`, shared by `run`, `eval` and `label`: which backend
//! the model is loaded on, and why (reports say it as `"backend"` and `"backend_reason"`).
//!
//! `auto` takes the GPU unless the only adapter is a software one (lavapipe, SwiftShader: our WGSL
//! runs there one SIMD lane per invocation, an order of magnitude behind the CPU backend, README
//! "Speed") or there is no adapter at all; then the CPU.

use visionllm_gpu::{Device, Gpu, Overrides};

use crate::args::Args;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Choice {
    Cpu,
    Gpu,
    Auto,
}

impl Choice {
    pub fn parse(s: &str) -> Result<Choice, String> {
        match s {
            "cpu" => Ok(Choice::Cpu),
            "gpu" => Ok(Choice::Gpu),
            "auto" => Ok(Choice::Auto),
            other => Err(format!("--backend {other:?}: expected cpu, gpu or auto")),
        }
    }
}

/// The flags as given, checked before anything loads.
#[derive(Clone, Copy, Debug)]
pub struct BackendArgs {
    pub choice: Choice,
    pub threads: Option<usize>,
}

impl BackendArgs {
    pub fn take(args: &mut Args) -> Result<BackendArgs, String> {
        let choice = Choice::parse(args.value("--backend")?.as_deref().unwrap_or("auto"))?;
        let threads = match args.value("--threads")? {
            None => None,
            Some(v) => match v.parse::<usize>() {
                Ok(n @ 1..=1024) => Some(n),
                _ => return Err(format!("--threads {v:?}: expected a number of threads in 1..=1024")),
            },
        };
        Ok(BackendArgs { choice, threads })
    }

    /// The device, and one line saying why it was picked.
    pub fn open(self) -> Result<(Device, String), String> {
        if let Some(n) = self.threads {
            visionllm_gpu::cpu::set_threads(n).map_err(|e| format!("--threads {n}: {e}"))?;
        }
        let cpu = |why: String| Ok((Device::cpu(), why));
        match self.choice {
            Choice::Cpu => cpu("asked for (--backend cpu)".into()),
            Choice::Gpu => {
                let gpu = Gpu::new_blocking(Overrides::NONE).map_err(|e| e.to_string())?;
                Ok((Device::Gpu(gpu), "asked for (--backend gpu)".into()))
            }
            Choice::Auto => match Gpu::new_blocking(Overrides::NONE) {
                Ok(gpu) if gpu.caps.adapter.is_software => cpu(format!("auto: the only GPU adapter is a software one ({})", gpu.caps.adapter.name)),
                Ok(gpu) => {
                    let why = format!("auto: hardware adapter {}", gpu.caps.adapter.name);
                    Ok((Device::Gpu(gpu), why))
                }
                Err(e) => cpu(format!("auto: no GPU adapter ({e})")),
            },
        }
    }
}

/// Wait until the device has finished what was submitted, so a phase is charged its own work.
pub fn wait_idle(device: &Device) {
    let _ = pollster::block_on(device.idle());
}

/// The submit and dispatch counts so far (GPU work; zeros on the CPU, which records nothing).
pub fn work_counts(device: &Device) -> (u64, u64) {
    device.gpu().map_or((0, 0), |g| g.profiler.counts())
}
