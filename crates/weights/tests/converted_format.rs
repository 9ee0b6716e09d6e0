//! The converted format on the tiny fixtures: what goes in comes out (exactly for f32, as the
//! kernels' packing for Q8/Q4), shards are plain safetensors, and every way a download can go
//! wrong (flipped byte, truncated shard, missing shard, a manifest that lies) is a clear error,
//! never a checkpoint.

mod common;

use common::{fixture, TempDir};
use visionllm_core::{quant, DType};
use visionllm_weights::classify::{classify, Class};
use visionllm_weights::convert::{convert_dir, Options};
use visionllm_weights::manifest::Manifest;
use visionllm_weights::{Checkpoint, Stored};

/// Small shards so the fixture spreads over several files.
fn convert(tag: &str, quant: Stored) -> TempDir {
    let dir = TempDir::new(tag);
    let mut opts = Options::quant(quant);
    opts.max_shard_bytes = 128 << 10;
    let report = convert_dir(&fixture("tiny224"), dir.path(), &opts).unwrap();
    eprintln!("{}", report.table());
    dir
}

fn open_err(dir: &TempDir) -> String {
    match Checkpoint::open_dir(dir.path()) {
        Ok(_) => panic!("a damaged directory opened"),
        Err(e) => e.to_string(),
    }
}

fn manifest(dir: &TempDir) -> Manifest {
    Manifest::from_json(&std::fs::read_to_string(dir.path().join("manifest.json")).unwrap()).unwrap()
}

fn write_manifest(dir: &TempDir, m: &Manifest) {
    std::fs::write(dir.path().join("manifest.json"), serde_json::to_string(m).unwrap()).unwrap();
}

#[test]
fn f32_conversion_round_trips_every_tensor_exactly() {
    let src = Checkpoint::open_dir(&fixture("tiny224")).unwrap();
    let dir = convert("f32", Stored::F32);
    let m = manifest(&dir);
    assert!(m.shards.len() >= 3, "{} shards", m.shards.len());
    for f in ["config.json", "tokenizer.json", "preprocessor_config.json"] {
        assert_eq!(std::fs::read(dir.path().join(f)).unwrap(), std::fs::read(fixture("tiny224").join(f)).unwrap(), "{f}");
    }
    let got = Checkpoint::open_dir(dir.path()).unwrap();
    let mut names: Vec<&str> = src.names().collect();
    names.sort();
    assert_eq!(names.len(), m.tensors.len());
    for name in names {
        assert_eq!(got.f32(name).unwrap(), src.f32(name).unwrap(), "{name}");
    }
    // Each shard is an ordinary safetensors file, and the manifest's offsets are absolute.
    for (i, s) in m.shards.iter().enumerate() {
        let bytes = std::fs::read(dir.path().join(&s.file)).unwrap();
        let st = safetensors::SafeTensors::deserialize(&bytes).unwrap();
        for t in m.tensors.iter().filter(|t| t.shard == i) {
            assert_eq!(st.tensor(&t.name).unwrap().data(), &bytes[t.offset as usize..(t.offset + t.length) as usize]);
        }
    }
}

#[test]
fn quantized_tensors_are_the_kernels_packing() {
    let src = Checkpoint::open_dir(&fixture("tiny224")).unwrap();
    for (tag, stored, dtype) in [("q8", Stored::Q8, DType::Q8), ("q4", Stored::Q4, DType::Q4)] {
        let dir = convert(tag, stored);
        let got = Checkpoint::open_dir(dir.path()).unwrap();
        let m = got.manifest().unwrap().clone();
        for (i, s) in m.shards.iter().enumerate() {
            let data: u64 = m.tensors.iter().filter(|t| t.shard == i).map(|t| t.length).sum();
            let count = m.tensors.iter().filter(|t| t.shard == i).count();
            assert!(data <= 128 << 10 || count == 1, "shard {} holds {data} bytes of data in {count} tensors ({} in all)", s.file, s.bytes);
        }
        let mut quantized = 0;
        for t in &m.tensors {
            let (shape, values) = src.f32(&t.name).unwrap();
            assert_eq!(shape, t.shape, "{}", t.name);
            let class = classify(&t.name, &shape);
            match got.quantized(&t.name).unwrap() {
                Some(q) => {
                    assert!(matches!(class, Class::Matmul | Class::Embedding), "{} quantized", t.name);
                    assert_eq!(q.dtype, dtype);
                    let want = quant::quantize(dtype, shape[0], shape[1], &values);
                    assert_eq!(&*q.bytes, bytemuck::cast_slice::<u32, u8>(&want), "{}", t.name);
                    assert_eq!(q.bytes.len() as u64, visionllm_core::byte_len(&shape, dtype));
                    quantized += 1;
                }
                None => {
                    assert_eq!(t.dtype, Stored::F16, "{}", t.name);
                    let want: Vec<f32> = values.iter().map(|&v| half::f16::from_f32(v).to_f32()).collect();
                    assert_eq!(got.f32(&t.name).unwrap().1, want, "{}", t.name);
                }
            }
        }
        assert_eq!(quantized, 66, "65 linear weights + the tied embedding");
    }
}

#[test]
fn flipped_byte_is_reported_as_corrupt() {
    let dir = convert("corrupt", Stored::Q8);
    let m = manifest(&dir);
    let path = dir.path().join(&m.shards[1].file);
    let mut bytes = std::fs::read(&path).unwrap();
    let at = bytes.len() / 2;
    bytes[at] ^= 0x01;
    std::fs::write(&path, bytes).unwrap();
    let err = open_err(&dir);
    assert!(err.contains(&m.shards[1].file) && err.contains("sha256") && err.contains("corrupt"), "{err}");
}

#[test]
fn truncated_shard_is_reported() {
    let dir = convert("truncated", Stored::Q4);
    let m = manifest(&dir);
    let path = dir.path().join(&m.shards[0].file);
    let bytes = std::fs::read(&path).unwrap();
    std::fs::write(&path, &bytes[..bytes.len() - 100]).unwrap();
    let err = open_err(&dir);
    assert!(err.contains(&m.shards[0].file) && err.contains("truncated"), "{err}");
}

#[test]
fn missing_shard_is_reported() {
    let dir = convert("missing", Stored::Q8);
    let m = manifest(&dir);
    let last = m.shards.last().unwrap();
    std::fs::remove_file(dir.path().join(&last.file)).unwrap();
    let err = open_err(&dir);
    assert!(err.contains(&last.file) && err.contains("missing"), "{err}");
}

#[test]
fn manifest_that_lies_about_sizes_is_rejected() {
    let dir = convert("lies", Stored::Q8);
    let honest = manifest(&dir);
    let q = honest.tensors.iter().position(|t| t.dtype == Stored::Q8).unwrap();
    let f = honest.tensors.iter().position(|t| t.dtype == Stored::F16 && t.shape.len() == 1).unwrap();
    type Lie = fn(&mut Manifest, usize, usize);
    let lies: [(&str, Lie, &str); 6] = [
        ("shard size", |m, _, _| {
            m.shards[0].bytes += 4;
            m.total_bytes += 4;
        }, "bytes but the manifest says"),
        ("total", |m, _, _| m.total_bytes -= 1, "total_bytes"),
        ("tensor length", |m, q, _| m.tensors[q].length -= 4, "claims"),
        ("tensor shape", |m, _, f| m.tensors[f].shape[0] += 2, "claims"),
        ("tensor shape and length agree, shard disagrees", |m, _, f| {
            m.tensors[f].shape[0] -= 1;
            m.tensors[f].length -= 2;
        }, "disagree"),
        ("tensor offset", |m, q, _| m.tensors[q].offset += 4, "disagree"),
    ];
    for (what, lie, want) in lies {
        let mut m = honest.clone();
        lie(&mut m, q, f);
        write_manifest(&dir, &m);
        let err = open_err(&dir);
        assert!(err.contains(want), "{what}: {err}");
    }
    write_manifest(&dir, &honest);
    Checkpoint::open_dir(dir.path()).unwrap();
}

#[test]
fn pickle_checkpoint_gets_the_conversion_command() {
    let dir = TempDir::new("pickle");
    std::fs::write(dir.path().join("config.json"), "{}").unwrap();
    std::fs::write(dir.path().join("pytorch_model.bin"), b"not read").unwrap();
    let err = convert_dir(dir.path(), &dir.path().join("out"), &Options::quant(Stored::Q4)).unwrap_err().to_string();
    assert!(err.contains("safetensors") && err.contains("save_file"), "{err}");
}

#[test]
fn in_memory_shards_are_verified_too() {
    let dir = convert("memory", Stored::Q4);
    let m = manifest(&dir);
    let read = || -> Vec<Vec<u8>> { m.shards.iter().map(|s| std::fs::read(dir.path().join(&s.file)).unwrap()).collect() };
    let ckpt = Checkpoint::from_converted(m.clone(), read()).unwrap();
    let disk = Checkpoint::open_dir(dir.path()).unwrap();
    for t in &m.tensors {
        assert_eq!(ckpt.f32(&t.name).unwrap(), disk.f32(&t.name).unwrap(), "{}", t.name);
    }
    let mut shards = read();
    let last = shards.len() - 1;
    let n = shards[last].len();
    shards[last][n - 1] ^= 0x80;
    let err = Checkpoint::from_converted(m.clone(), shards).err().expect("a flipped byte must not load").to_string();
    assert!(err.contains("corrupt"), "{err}");
    let err = Checkpoint::from_converted(m.clone(), read()[1..].to_vec()).err().expect("a missing shard must not load").to_string();
    assert!(err.contains("shards given"), "{err}");
}
