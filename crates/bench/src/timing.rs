//! How one figure is measured: warm-up runs (pipeline compilation, autotuning, bind groups and
//! pooled buffers all happen there), then the median of timed runs. Each run must include waiting
//! for the GPU, so the closure does record + submit + wait itself.

use std::time::{Duration, Instant};

/// How many runs and how long: a slow kernel on a software adapter (a second per 1024^3 matmul on
/// lavapipe) gets fewer runs than a fast one, within `budget`.
#[derive(Clone, Copy, Debug)]
pub struct Plan {
    pub warmup: usize,
    pub min_runs: usize,
    pub max_runs: usize,
    pub budget: Duration,
}

impl Plan {
    pub fn full() -> Plan {
        Plan { warmup: 2, min_runs: 3, max_runs: 15, budget: Duration::from_secs(3) }
    }

    /// CI's smoke test: enough to catch a broken kernel or a 10x regression, not to rank.
    pub fn quick() -> Plan {
        Plan { warmup: 1, min_runs: 3, max_runs: 5, budget: Duration::from_millis(500) }
    }
}

/// Median milliseconds of `run` under `plan`; the first error stops the measurement.
pub fn median_ms<E>(plan: Plan, mut run: impl FnMut() -> Result<(), E>) -> Result<f64, E> {
    for _ in 0..plan.warmup {
        run()?;
    }
    let started = Instant::now();
    let mut samples = Vec::with_capacity(plan.max_runs);
    while samples.len() < plan.min_runs || (samples.len() < plan.max_runs && started.elapsed() < plan.budget) {
        let t = Instant::now();
        run()?;
        samples.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    Ok(median(&mut samples))
}

pub fn median(samples: &mut [f64]) -> f64 {
    samples.sort_by(f64::total_cmp);
    let n = samples.len();
    match n {
        0 => f64::NAN,
        _ if n % 2 == 1 => samples[n / 2],
        _ => (samples[n / 2 - 1] + samples[n / 2]) / 2.0,
    }
}

pub fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// Round for the JSON output: three decimals are far below run-to-run noise.
pub fn round3(v: f64) -> f64 {
    (v * 1000.0).round() / 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_of_odd_and_even_counts() {
        assert_eq!(median(&mut [3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&mut [4.0, 1.0, 2.0, 3.0]), 2.5);
    }

    #[test]
    fn plan_runs_at_least_min_runs_after_warmup() {
        let mut calls = 0;
        let plan = Plan { warmup: 2, min_runs: 3, max_runs: 3, budget: Duration::ZERO };
        median_ms::<()>(plan, || {
            calls += 1;
            Ok(())
        })
        .unwrap();
        assert_eq!(calls, 5);
    }
}
