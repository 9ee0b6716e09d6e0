//! `kernels`: every case on our runtime and on burn-wgpu, as one JSON object (the contract in
//! issue #14) or a table with the ratio burn/ours (above 1: we are faster). Each row also carries
//! `max_rel_diff`: how far burn's result is from ours on the same operands.

use serde_json::{json, Value};
use visionllm_gpu::{BackendError, Device, Gpu};

use crate::burn_peer::Burn;
use crate::cases::cases;
use crate::{inputs, ours};
use crate::timing::{round3, Plan};

/// "name (backend, driver)": enough to tell lavapipe from SwiftShader from a real GPU.
pub fn adapter_name(gpu: &Gpu) -> String {
    let a = &gpu.caps.adapter;
    format!("{} ({}, {})", a.name, a.backend, a.driver)
}

/// The adapter's name, or "cpu (N threads)" on the CPU backend.
pub fn device_name(device: &Device) -> String {
    match device {
        Device::Gpu(gpu) => adapter_name(gpu),
        Device::Cpu(cpu) => format!("cpu ({} threads)", cpu.threads()),
    }
}

/// `only`: the cases whose name starts with it (e.g. `window_attention`), for working on one kernel.
pub fn run(gpu: &std::sync::Arc<Gpu>, quick: bool, only: Option<&str>, as_json: bool) -> Result<(), String> {
    let device = Device::Gpu(gpu.clone());
    let plan = if quick { Plan::quick() } else { Plan::full() };
    let burn = Burn::new();
    let mut rows = Vec::new();
    let selected = cases(quick, gpu.caps.f16).into_iter().filter(|c| only.is_none_or(|o| c.name.starts_with(o)));
    for case in selected {
        // Progress on stderr: a full run on a software adapter takes minutes.
        eprintln!("{} {} {} ...", case.name, case.shape(), case.dtype());
        let operands = inputs::make(&case);
        let what = |e: BackendError| format!("{} {}: {e}", case.name, case.shape());
        let ours = if ours::largest_binding(&case) > gpu.max_binding() {
            eprintln!("  ours: an operand exceeds this adapter's {} MiB storage binding limit: null", gpu.max_binding() >> 20);
            None
        } else {
            let prepared = ours::prepare(&device, &case, &operands);
            Some((ours::output(&device, &prepared).map_err(what)?, ours::time_case(&device, &prepared, plan).map_err(what)?))
        };
        let peer = burn.run_case(&case, &operands, plan);
        // Both engines got the same operands: a result that differs means one of them did not
        // compute the operation (or not this one), and its time means nothing.
        let error = match (&ours, &peer) {
            (Some((a, _)), Some((b, _))) => Some(inputs::relative_error(b, a)),
            _ => None,
        };
        let agree = error.map(|e| e <= inputs::tolerance(&case));
        if agree == Some(false) {
            eprintln!("  burn's result differs from ours (max error {:.3e} of the largest value): burn_ms null", error.unwrap_or(f32::NAN));
        }
        let ours_ms = ours.map(|(_, ms)| ms);
        let burn_ms = peer.map(|(_, ms)| ms).filter(|_| agree != Some(false));
        rows.push(json!({
            "name": case.name,
            "shape": case.shape(),
            "dtype": case.dtype(),
            "ours_ms": ours_ms.map(round3),
            "burn_ms": burn_ms.map(round3),
            "gflops": ours_ms.map(|ms| round3(case.flops() / (ms / 1000.0) / 1e9)),
            "max_rel_diff": error.map(|e| (e as f64 * 1e6).round() / 1e6),
        }));
    }
    let out = json!({ "adapter": adapter_name(gpu), "kernels": rows });
    if as_json {
        println!("{out}");
    } else {
        print_table(&out);
    }
    Ok(())
}

fn print_table(out: &Value) {
    println!("adapter: {}", out["adapter"].as_str().unwrap_or("?"));
    println!("{:<20} {:<26} {:<5} {:>11} {:>11} {:>9} {:>10}", "kernel", "shape", "dtype", "ours ms", "burn ms", "GFLOP/s", "burn/ours");
    for k in out["kernels"].as_array().into_iter().flatten() {
        let (ours, burn) = (k["ours_ms"].as_f64(), k["burn_ms"].as_f64());
        let cell = |v: Option<f64>, digits: usize| v.map_or("-".to_string(), |v| format!("{v:.digits$}"));
        let ratio = match (ours, burn) {
            (Some(o), Some(b)) => format!("{:.2}x", b / o),
            _ => "-".into(),
        };
        println!(
            "{:<20} {:<26} {:<5} {:>11} {:>11} {:>9} {:>10}",
            k["name"].as_str().unwrap_or(""),
            k["shape"].as_str().unwrap_or(""),
            k["dtype"].as_str().unwrap_or(""),
            cell(ours, 3),
            cell(burn, 3),
            cell(k["gflops"].as_f64(), 2),
            ratio
        );
    }
}
