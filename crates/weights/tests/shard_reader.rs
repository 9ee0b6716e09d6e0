//! `Checkpoint::from_converted_reader`: a converted checkpoint read tensor by tensor through a
//! `ShardReader` (how the browser reads shards from OPFS) gives exactly what the memory-mapped
//! directory gives, never asks for more than one tensor at a time (big float tensors in 4 MiB
//! pieces), and turns a short or failing
//! read into a clear error.

mod common;

use std::cell::Cell;
use std::rc::Rc;
use std::io::{Read, Seek, SeekFrom};

use common::{fixture, TempDir};
use visionllm_weights::convert::{convert_dir, Options};
use visionllm_weights::manifest::Manifest;
use visionllm_weights::{Checkpoint, ShardReader, Stored};

struct FileReader {
    dir: std::path::PathBuf,
    manifest: Manifest,
    largest_read: Rc<Cell<u64>>,
    /// Simulate storage that lost the end of shard 0.
    short: bool,
}

impl ShardReader for FileReader {
    fn read(&self, shard: usize, start: u64, end: u64) -> Result<Vec<u8>, String> {
        let info = self.manifest.shards.get(shard).ok_or_else(|| format!("no shard {shard}"))?;
        let mut file = std::fs::File::open(self.dir.join(&info.file)).map_err(|e| e.to_string())?;
        file.seek(SeekFrom::Start(start)).map_err(|e| e.to_string())?;
        let end = if self.short && shard == 0 { end.min(info.bytes / 2) } else { end };
        let mut out = vec![0u8; end.saturating_sub(start) as usize];
        file.read_exact(&mut out).map_err(|e| e.to_string())?;
        self.largest_read.set(self.largest_read.get().max(end.saturating_sub(start)));
        Ok(out)
    }
}

fn converted(tag: &str, quant: Stored) -> (TempDir, Manifest) {
    let dir = TempDir::new(tag);
    let mut opts = Options::quant(quant);
    opts.max_shard_bytes = 128 << 10;
    convert_dir(&fixture("tiny224"), dir.path(), &opts).unwrap();
    let m = Manifest::from_json(&std::fs::read_to_string(dir.path().join("manifest.json")).unwrap()).unwrap();
    (dir, m)
}

#[test]
fn reader_backed_checkpoint_equals_the_mapped_one() {
    for quant in [Stored::Q8, Stored::Q4, Stored::F16] {
        let (dir, m) = converted(&format!("reader-{}", quant.name()), quant);
        let mapped = Checkpoint::open_dir(dir.path()).unwrap();
        let reader = FileReader { dir: dir.path().to_path_buf(), manifest: m.clone(), largest_read: Rc::default(), short: false };
        let lazy = Checkpoint::from_converted_reader(m.clone(), Box::new(reader)).unwrap();
        for t in &m.tensors {
            assert_eq!(lazy.f32(&t.name).unwrap(), mapped.f32(&t.name).unwrap(), "{}", t.name);
            let (a, b) = (lazy.quantized(&t.name).unwrap(), mapped.quantized(&t.name).unwrap());
            assert_eq!(a.as_ref().map(|q| q.bytes.to_vec()), b.as_ref().map(|q| q.bytes.to_vec()), "{}", t.name);
        }
        assert!(m.shards.len() >= 2, "the fixture should spread over shards");
    }
}

#[test]
fn reads_one_tensor_at_a_time() {
    let (dir, m) = converted("reader-largest", Stored::Q8);
    let largest_tensor = m.tensors.iter().map(|t| t.length).max().unwrap();
    let largest_read = Rc::new(Cell::new(0));
    let reader = FileReader { dir: dir.path().to_path_buf(), manifest: m.clone(), largest_read: largest_read.clone(), short: false };
    let lazy = Checkpoint::from_converted_reader(m.clone(), Box::new(reader)).unwrap();
    for t in &m.tensors {
        lazy.f32(&t.name).unwrap();
    }
    assert_eq!(largest_read.get(), largest_tensor, "the biggest read is the biggest tensor, never a whole shard");
}

#[test]
fn short_reads_are_clear_errors() {
    let (dir, m) = converted("reader-short", Stored::Q8);
    let reader = FileReader { dir: dir.path().to_path_buf(), manifest: m.clone(), largest_read: Rc::default(), short: true };
    let lazy = Checkpoint::from_converted_reader(m.clone(), Box::new(reader)).unwrap();
    let last_in_shard0 = m.tensors.iter().filter(|t| t.shard == 0).max_by_key(|t| t.offset).unwrap();
    let err = lazy.f32(&last_in_shard0.name).unwrap_err().to_string();
    assert!(err.contains(&m.shards[0].file) && (err.contains("shorter") || err.contains("fill whole buffer")), "{err}");
    // A manifest that fails its own checks is refused before any read.
    let mut bad = m.clone();
    bad.format = "something else".into();
    let reader = FileReader { dir: dir.path().to_path_buf(), manifest: m, largest_read: Rc::default(), short: false };
    assert!(Checkpoint::from_converted_reader(bad, Box::new(reader)).is_err());
}

/// A float tensor bigger than the 4 MiB read piece (an f16 convolution of Florence-2-large is
/// 38 MB) is read in pieces and widened as they arrive, to the same values as the mapped file.
#[test]
fn big_float_tensors_are_read_in_pieces() {
    let src = TempDir::new("reader-big-src");
    let (rows, cols) = (2049, 1031); // 2.1M values: 8.4 MB as f32, 4.2 MB as f16, both > 4 MiB
    let values: Vec<f32> = (0..rows * cols).map(|i| ((i * 7919) % 2003) as f32 / 1001.0 - 1.0).collect();
    let bytes: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
    let name = "model.vision_tower.convs.3.conv.weight";
    let view = safetensors::tensor::TensorView::new(safetensors::Dtype::F32, vec![rows, cols, 1, 1], &bytes).unwrap();
    safetensors::serialize_to_file(vec![(name.to_string(), view)], None, &src.path().join("model.safetensors")).unwrap();
    std::fs::write(src.path().join("config.json"), "{}").unwrap();
    for quant in [Stored::F16, Stored::F32] {
        let dir = TempDir::new(&format!("reader-big-{}", quant.name()));
        convert_dir(src.path(), dir.path(), &Options::quant(quant)).unwrap();
        let m = Manifest::from_json(&std::fs::read_to_string(dir.path().join("manifest.json")).unwrap()).unwrap();
        let largest_read = Rc::new(Cell::new(0));
        let reader = FileReader { dir: dir.path().to_path_buf(), manifest: m.clone(), largest_read: largest_read.clone(), short: false };
        let lazy = Checkpoint::from_converted_reader(m.clone(), Box::new(reader)).unwrap();
        let mapped = Checkpoint::open_dir(dir.path()).unwrap();
        assert_eq!(lazy.f32(name).unwrap(), mapped.f32(name).unwrap(), "{quant:?}");
        assert!(m.tensors[0].length > 4 << 20 && largest_read.get() == 4 << 20, "{quant:?}: {} byte tensor, largest read {}", m.tensors[0].length, largest_read.get());
    }
}
