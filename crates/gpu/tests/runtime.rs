//! The runtime's own promises: pooled buffers are reused, pipelines are cached per variant, a
//! recording with many dispatches is one submit, bad shapes are errors (not panics).
#![cfg(not(target_arch = "wasm32"))]

use visionllm_gpu::ops::matmul::matmul;
use visionllm_gpu::recorder::run_and_read;
use visionllm_gpu::{BackendError, DType, Device, Gpu, Overrides, Recorder};


#[test]
fn pool_reuses_released_buffers() {
    let gpu = Gpu::new_blocking(Overrides::NONE).unwrap();
    let device = Device::Gpu(gpu.clone());
    let before = gpu.pool.stats();
    {
        let mut rec = Recorder::new(&device);
        let a = rec.alloc(&[1000], DType::F32);
        drop(a);
        let _b = rec.alloc(&[990], DType::F32); // same size class: reused
        rec.submit();
    }
    let after = gpu.pool.stats();
    assert_eq!(after.created - before.created, 1);
    assert_eq!(after.reused - before.reused, 1);
}

#[test]
fn chained_dispatches_in_one_submit_and_cached_pipelines() {
    let gpu = Gpu::new_blocking(Overrides::NONE).unwrap();
    let device = Device::Gpu(gpu.clone());
    // (A * I) * I ... ten times in one recording equals A.
    let n = 9;
    let a: Vec<f32> = (0..n * n).map(|i| i as f32 * 0.25 - 3.0).collect();
    let eye: Vec<f32> = (0..n * n).map(|i| if i / n == i % n { 1.0 } else { 0.0 }).collect();
    let got = pollster::block_on(run_and_read(&device, |rec| {
        let mut x = rec.upload_f32(&[n, n], &a);
        let id = rec.upload_f32(&[n, n], &eye);
        for _ in 0..10 {
            x = matmul(rec, &x, &id, false)?;
        }
        assert_eq!(rec.dispatch_count(), 10);
        Ok(x)
    }))
    .unwrap();
    assert_eq!(got, a);
    assert_eq!(gpu.pipeline_count(), 1, "one variant compiled once");
}

#[test]
fn shape_mismatch_is_an_error() {
    let gpu = Gpu::new_blocking(Overrides::NONE).unwrap();
    let device = Device::Gpu(gpu.clone());
    let mut rec = Recorder::new(&device);
    let a = rec.alloc(&[2, 3], DType::F32);
    let b = rec.alloc(&[4, 5], DType::F32);
    match matmul(&mut rec, &a, &b, false) {
        Err(BackendError::Shape { op: "matmul", .. }) => {}
        other => panic!("expected a shape error, got {other:?}"),
    }
    assert!(gpu.check_alive().is_ok());
}

#[test]
fn repeated_dispatches_reuse_bind_groups_and_weights_leave_the_cache() {
    use visionllm_gpu::ops::matmul::{matmul_into, MatmulGeometry};
    let gpu = Gpu::new_blocking(Overrides::NONE).unwrap();
    let device = Device::Gpu(gpu.clone());
    let w = gpu.upload_persistent(&[4, 4], DType::F32, bytemuck::cast_slice(&[0.5f32; 16]), "w");
    let x = gpu.upload_persistent(&[1, 4], DType::F32, bytemuck::cast_slice(&[1.0f32, 2.0, 3.0, 4.0]), "x");
    let y = gpu.upload_persistent(&[1, 4], DType::F32, bytemuck::cast_slice(&[0.0f32; 4]), "y");
    let g = MatmulGeometry::contiguous(1, 1, 4, 4, true, true);
    let step = || {
        pollster::block_on(run_and_read(&device, |rec| {
            matmul_into(rec, &x, &w, &y, &g, None)?;
            Ok(y.clone())
        }))
        .unwrap()
    };
    assert_eq!(step(), vec![5.0; 4]);
    let (hits0, misses0) = gpu.binds.stats();
    // Same kernel, parameters and buffers in a new recording: the bind group is found again.
    assert_eq!(step(), vec![5.0; 4]);
    let (hits1, misses1) = gpu.binds.stats();
    assert_eq!((hits1 - hits0, misses1 - misses0), (1, 0));
    // Freeing the weight evicts its bind groups (nothing keeps its memory alive).
    let cached = gpu.binds.len();
    drop(w);
    assert_eq!(gpu.binds.len(), cached - 1);
    let w2 = gpu.upload_persistent(&[4, 4], DType::F32, bytemuck::cast_slice(&[0.25f32; 16]), "w2");
    let got = pollster::block_on(run_and_read(&device, |rec| {
        matmul_into(rec, &x, &w2, &y, &g, None)?;
        Ok(y.clone())
    }))
    .unwrap();
    assert_eq!(got, vec![2.5; 4]);
    assert_eq!(gpu.binds.stats().1, misses1 + 1);
}

/// Counters see one submit for a whole recording; the profile times each dispatch by kernel,
/// interleaved copies included, and the values are those of the unprofiled run.
#[test]
fn counters_and_the_kernel_profile() {
    let gpu = Gpu::new_blocking(Overrides::NONE).unwrap();
    let device = Device::Gpu(gpu.clone());
    let n = 7;
    let a: Vec<f32> = (0..n * n).map(|i| (i as f32 * 0.37).sin()).collect();
    let eye: Vec<f32> = (0..n * n).map(|i| if i / n == i % n { 1.0 } else { 0.0 }).collect();
    // Dispatches, a copy between them (it ends the compute pass), then more dispatches.
    let run = |device: &Device| {
        pollster::block_on(run_and_read(device, |rec| {
            let id = rec.upload_f32(&[n, n], &eye);
            let mut x = rec.upload_f32(&[n, n], &a);
            x = matmul(rec, &x, &id, false)?;
            let copy = rec.alloc(&[n, n], DType::F32);
            rec.copy_into(&x, &copy, 0)?;
            x = visionllm_gpu::ops::elementwise::add(rec, &copy, &x)?;
            matmul(rec, &x, &id, false)
        }))
        .unwrap()
    };
    let (submits, dispatches) = gpu.profiler.counts();
    let plain = run(&device);
    assert_eq!(gpu.profiler.counts(), (submits + 1, dispatches + 3));
    let want: Vec<f32> = a.iter().map(|v| 2.0 * v).collect();
    assert!(plain.iter().zip(&want).all(|(g, w)| (g - w).abs() <= 1e-5 * (1.0 + w.abs())), "{plain:?}");

    assert!(gpu.profiler.take().is_empty(), "no profile unless asked for");
    gpu.profiler.set_enabled(true);
    let profiled = run(&device);
    gpu.profiler.set_enabled(false);
    assert_eq!(profiled, plain);
    let profile = gpu.profiler.take();
    let count = |prefix: &str| profile.iter().filter(|k| k.name.starts_with(prefix)).map(|k| k.dispatches).sum::<u64>();
    assert_eq!((count("matmul:"), count("elementwise:")), (2, 1), "{profile:?}");
    assert!(profile.iter().all(|k| k.ms > 0.0), "{profile:?}");
    assert!(profile.windows(2).all(|w| w[0].ms >= w[1].ms), "most time first: {profile:?}");
}
