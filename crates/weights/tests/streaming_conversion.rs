//! The streaming converter (what the browser runs on a Hugging Face download) against the
//! converter on disk: pieces of any size, a checkpoint split over several files, a cut in the
//! middle of a shard, a resume in a later session and a source that ends early all give exactly
//! the shards `convert_dir` writes, or a clear error and no shard.

mod common;

use common::{fixture, TempDir};
use visionllm_weights::conversion_plan::{ConversionPlan, Options};
use visionllm_weights::convert::convert_dir;
use visionllm_weights::manifest::Manifest;
use visionllm_weights::source_header::{self, SourceFile};
use visionllm_weights::stream_convert::StreamConverter;
use visionllm_weights::{Checkpoint, Stored};

fn options(quant: Stored) -> Options {
    let mut opts = Options::quant(quant);
    opts.max_shard_bytes = 96 << 10;
    opts
}

/// The converter on disk: manifest and shard bytes.
fn on_disk(src: &std::path::Path, quant: Stored) -> (Manifest, Vec<Vec<u8>>) {
    let out = TempDir::new(&format!("stream-ref-{quant:?}-{}", src.file_name().unwrap().to_string_lossy()));
    let report = convert_dir(src, out.path(), &options(quant)).unwrap();
    let shards = report.manifest.shards.iter().map(|s| std::fs::read(out.path().join(&s.file)).unwrap()).collect();
    (report.manifest, shards)
}

fn load(files: &[(&str, Vec<u8>)]) -> Vec<SourceFile> {
    files.iter().map(|(name, bytes)| source_header::parse(name, bytes).unwrap()).collect()
}

/// Deterministic piece sizes from 1 byte to ~40 kB.
struct Pieces(u64);
impl Pieces {
    fn next(&mut self) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        match self.0 % 4 {
            0 => 1 + (self.0 >> 8) as usize % 7,
            1 => 1 + (self.0 >> 8) as usize % 4096,
            _ => 1 + (self.0 >> 8) as usize % 40_000,
        }
    }
}

/// Stream `files` in random pieces; `cut_after` stops a fetch after that many bytes once (a
/// dropped connection), after which the converter says where to continue.
fn stream(files: &[(&str, Vec<u8>)], quant: Stored, finished: &[bool], seed: u64, cut_after: Option<u64>) -> Result<(Manifest, Vec<Option<Vec<u8>>>, u64), String> {
    let plan = ConversionPlan::new(load(files), options(quant))?;
    let mut conv = StreamConverter::new(plan, finished);
    let to_read = conv.bytes_to_read();
    let mut out: Vec<Option<Vec<u8>>> = vec![None; conv.plan().shards.len()];
    let mut shas = vec![String::new(); out.len()];
    let mut pieces = Pieces(seed);
    let (mut read, mut cut) = (0u64, cut_after);
    while let Some(f) = conv.next_fetch() {
        assert!(f.from < f.to, "{f:?}");
        let mut at = f.from;
        while at < f.to {
            if cut.is_some_and(|c| read >= c) {
                cut = None;
                break;
            }
            let end = (at + pieces.next() as u64).min(f.to);
            for shard in conv.push(&files[f.file].1[at as usize..end as usize])? {
                assert!(out[shard.index].is_none(), "shard {} produced twice", shard.index);
                shas[shard.index] = shard.sha256;
                out[shard.index] = Some(shard.bytes);
            }
            read += end - at;
            at = end;
        }
    }
    assert_eq!(conv.bytes_to_read(), 0);
    let (plan, _) = conv.finish()?;
    // Without gaps between the needed tensors (no tied aliases here), what is read is the estimate.
    if finished.is_empty() {
        assert_eq!(read, to_read);
    }
    for (i, done) in finished.iter().enumerate() {
        if *done {
            assert!(out[i].is_none(), "finished shard {i} made again");
        }
    }
    Ok((plan.manifest(shas, Some("tokenizer.json".into())), out, read))
}

fn native_source() -> Vec<u8> {
    std::fs::read(fixture("tiny224").join("model.safetensors")).unwrap()
}

#[test]
fn pieces_of_any_size_give_the_converters_shards() {
    let files = [("model.safetensors", native_source())];
    for (quant, seed) in [(Stored::Q4, 1), (Stored::Q8, 2), (Stored::F16, 3), (Stored::F32, 4)] {
        let (want_manifest, want) = on_disk(&fixture("tiny224"), quant);
        assert!(want.len() >= 3, "{quant:?}: {} shards", want.len());
        let (manifest, got, read) = stream(&files, quant, &[], seed, None).unwrap();
        assert_eq!(manifest, want_manifest, "{quant:?}");
        for (i, w) in want.iter().enumerate() {
            assert!(got[i].as_ref() == Some(w), "{quant:?}: shard {i} differs");
        }
        let data = files[0].1.len() as u64 - source_header::parse("m", &files[0].1).unwrap().data_start;
        assert_eq!(read, data, "every tensor byte read once");
    }
}

/// Split the fixture into two safetensors files plus an index, as `save_pretrained` shards.
fn write_sharded(dir: &std::path::Path) -> Vec<(String, Vec<u8>)> {
    let src = Checkpoint::open_dir(&fixture("tiny224")).unwrap();
    let mut names: Vec<&str> = src.names().collect();
    names.sort();
    let half = names.len() / 2;
    let mut map = serde_json::Map::new();
    let mut files = Vec::new();
    for (part, chunk) in [&names[..half], &names[half..]].iter().enumerate() {
        let file = format!("model-0000{}-of-00002.safetensors", part + 1);
        let data: Vec<(String, Vec<usize>, Vec<u8>)> = chunk
            .iter()
            .map(|n| {
                let (shape, v) = src.f32(n).unwrap();
                // The second file in bf16, as some repositories publish.
                let bytes = if part == 0 { v.iter().flat_map(|x| x.to_le_bytes()).collect() } else { v.iter().flat_map(|x| half::bf16::from_f32(*x).to_le_bytes()).collect() };
                (n.to_string(), shape, bytes)
            })
            .collect();
        let dtype = if part == 0 { safetensors::Dtype::F32 } else { safetensors::Dtype::BF16 };
        let views: Vec<(String, safetensors::tensor::TensorView)> = data.iter().map(|(n, s, b)| (n.clone(), safetensors::tensor::TensorView::new(dtype, s.clone(), b).unwrap())).collect();
        safetensors::serialize_to_file(views, None, &dir.join(&file)).unwrap();
        for n in chunk.iter() {
            map.insert(n.to_string(), file.clone().into());
        }
        files.push((file.clone(), std::fs::read(dir.join(&file)).unwrap()));
    }
    std::fs::write(dir.join("model.safetensors.index.json"), serde_json::json!({ "metadata": {}, "weight_map": map }).to_string()).unwrap();
    for f in ["config.json", "tokenizer.json", "preprocessor_config.json"] {
        std::fs::copy(fixture("tiny224").join(f), dir.join(f)).unwrap();
    }
    files
}

#[test]
fn a_checkpoint_in_several_files_streams_file_by_file() {
    let dir = TempDir::new("stream-sharded");
    let files = write_sharded(dir.path());
    let files: Vec<(&str, Vec<u8>)> = files.iter().map(|(n, b)| (n.as_str(), b.clone())).collect();
    let (want_manifest, want) = on_disk(dir.path(), Stored::Q8);
    let (manifest, got, _) = stream(&files, Stored::Q8, &[], 9, None).unwrap();
    assert_eq!(manifest, want_manifest);
    assert_eq!(got.into_iter().map(Option::unwrap).collect::<Vec<_>>(), want);
    // bf16 values reach the shards as bf16 values (not reinterpreted bits): the converted
    // tensors of the second file dequantize close to the original f32 ones.
    let converted = TempDir::new("stream-sharded-out");
    convert_dir(dir.path(), converted.path(), &options(Stored::F16)).unwrap();
    let (a, b) = (Checkpoint::open_dir(converted.path()).unwrap(), Checkpoint::open_dir(&fixture("tiny224")).unwrap());
    for name in b.names() {
        let (x, y) = (a.f32(name).unwrap().1, b.f32(name).unwrap().1);
        let worst = x.iter().zip(&y).map(|(p, q)| (p - q).abs() / q.abs().max(1e-3)).fold(0f32, f32::max);
        assert!(worst < 1e-2, "{name}: relative error {worst}");
    }
}

#[test]
fn a_cut_inside_a_shard_resumes_at_the_exact_byte() {
    let files = [("model.safetensors", native_source())];
    let (want_manifest, want) = on_disk(&fixture("tiny224"), Stored::Q4);
    let total = files[0].1.len() as u64;
    for cut in [1, 1000, total / 3, total / 2 + 17] {
        let (manifest, got, read) = stream(&files, Stored::Q4, &[], cut, Some(cut)).unwrap();
        assert_eq!(manifest, want_manifest, "cut after {cut}");
        assert_eq!(got.into_iter().map(Option::unwrap).collect::<Vec<_>>(), want, "cut after {cut}");
        let data = total - source_header::parse("m", &files[0].1).unwrap().data_start;
        assert_eq!(read, data, "nothing read twice after a cut at {cut}");
    }
}

#[test]
fn a_later_session_makes_only_the_missing_shards_and_reads_less() {
    let files = [("model.safetensors", native_source())];
    let (_, want) = on_disk(&fixture("tiny224"), Stored::Q8);
    let n = want.len();
    let (_, _, full) = stream(&files, Stored::Q8, &[], 5, None).unwrap();
    for finished in [(0..n).map(|i| i < n - 1).collect::<Vec<_>>(), (0..n).map(|i| i % 2 == 0).collect(), (0..n).map(|i| i < n / 2).collect()] {
        let (_, got, read) = stream(&files, Stored::Q8, &finished, 6, None).unwrap();
        for i in 0..n {
            if !finished[i] {
                assert!(got[i].as_ref() == Some(&want[i]), "shard {i} after resuming with {finished:?}");
            }
        }
        assert!(read < full, "resuming with {finished:?} read {read} of {full} bytes");
    }
    let (_, got, read) = stream(&files, Stored::Q8, &vec![true; n], 7, None).unwrap();
    assert!(got.iter().all(Option::is_none) && read == 0);
}

#[test]
fn a_source_that_ends_early_makes_no_shard_from_it() {
    let mut bytes = native_source();
    let cut = bytes.len() - 1000;
    bytes.truncate(cut);
    let files = [("model.safetensors", bytes)];
    let plan = ConversionPlan::new(load(&files), options(Stored::Q4)).unwrap();
    let last = plan.shards.len() - 1;
    let mut conv = StreamConverter::new(plan, &[]);
    let mut made = Vec::new();
    while let Some(f) = conv.next_fetch() {
        let end = f.to.min(files[0].1.len() as u64);
        if f.from >= end {
            break;
        }
        made.extend(conv.push(&files[0].1[f.from as usize..end as usize]).unwrap().into_iter().map(|s| s.index));
    }
    assert!(!made.contains(&last), "the shard holding the cut tensor must not be produced");
    let err = conv.finish().err().expect("a short source must not finish");
    assert!(err.contains("ended before") && err.contains(&format!("{:05}", last + 1)), "{err}");
}
