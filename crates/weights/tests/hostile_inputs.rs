//! What a model host (or a hand-edited folder) can serve, checked where it enters: manifests with
//! path names, oversized files, absurd shapes, index files pointing elsewhere, headers declaring
//! enormous tensors, and a conversion whose output is its own source. Each is a one-line error
//! and touches nothing.

mod common;

use common::{fixture, TempDir};
use visionllm_weights::conversion_plan::ConversionPlan;
use visionllm_weights::convert::{convert_dir, Options};
use visionllm_weights::limits::{FileKind, MAX_TENSOR_BYTES};
use visionllm_weights::manifest::Manifest;
use visionllm_weights::source_header;
use visionllm_weights::verify::check_shard_header;
use visionllm_weights::Stored;

fn converted(tag: &str) -> (TempDir, Manifest) {
    let dir = TempDir::new(tag);
    let mut opts = Options::quant(Stored::Q8);
    opts.max_shard_bytes = 128 << 10;
    convert_dir(&fixture("tiny224"), dir.path(), &opts).unwrap();
    let m = Manifest::from_json(&std::fs::read_to_string(dir.path().join("manifest.json")).unwrap()).unwrap();
    (dir, m)
}

fn refused(m: &Manifest) -> String {
    Manifest::from_json(&serde_json::to_string(m).unwrap()).expect_err("a hostile manifest was accepted")
}

#[test]
fn manifest_names_are_plain_file_names() {
    let (_dir, honest) = converted("names");
    for name in ["../other-model/model-00001-of-00001.safetensors", "/etc/passwd", "https://evil.example/x.safetensors", "a/b", "..", ".sha256", "x\\y", ""] {
        let mut m = honest.clone();
        m.shards[0].file = name.into();
        assert!(refused(&m).contains("shard"), "{name:?}");
        let mut m = honest.clone();
        m.config = name.into();
        assert!(refused(&m).contains("config"), "{name:?}");
        let mut m = honest.clone();
        m.tokenizer = Some(name.into());
        assert!(refused(&m).contains("tokenizer"), "{name:?}");
    }
    let mut m = honest.clone();
    m.shards[1].file = m.shards[0].file.clone();
    assert!(refused(&m).contains("listed twice"));
    let mut m = honest.clone();
    m.shards[0].sha256 = "../../".into();
    assert!(refused(&m).contains("sha256"));
}

#[test]
fn manifest_sizes_and_shapes_use_checked_arithmetic() {
    let (_dir, honest) = converted("shapes");
    let f = honest.tensors.iter().position(|t| t.dtype == Stored::F16).unwrap();
    let q = honest.tensors.iter().position(|t| t.dtype == Stored::Q8).unwrap();
    type Lie = fn(&mut Manifest, usize, usize);
    let lies: [(Lie, &str); 6] = [
        (|m, f, _| m.tensors[f].shape = vec![1 << 40, 1 << 40], "not storable"),
        (|m, _, q| m.tensors[q].shape = vec![usize::MAX, usize::MAX], "not storable"),
        (|m, f, _| m.tensors[f].shape = vec![1; 9], "dimensions"),
        (|m, f, _| {
            m.tensors[f].shape = vec![(MAX_TENSOR_BYTES / 2 + 1) as usize];
            m.tensors[f].length = MAX_TENSOR_BYTES + 2;
        }, "more than a tensor can be"),
        (|m, _, _| {
            m.shards[0].bytes = u64::MAX;
            m.total_bytes = u64::MAX;
        }, "more than a shard can be"),
        (|m, f, _| m.tensors[f].offset = u64::MAX, "lies outside"),
    ];
    for (lie, want) in lies {
        let mut m = honest.clone();
        lie(&mut m, f, q);
        let err = refused(&m);
        assert!(err.contains(want), "want {want:?}: {err}");
    }
    let big = format!("{{\"pad\": \"{}\"}}", " ".repeat(FileKind::Manifest.max_bytes() as usize));
    assert!(Manifest::from_json(&big).unwrap_err().contains("more than a manifest can be"));
}

/// The browser has only the stored shard's first bytes at hand (it hashed the rest while
/// streaming); the same routine the native loader runs must catch a manifest that lies.
#[test]
fn shard_headers_alone_catch_lying_manifests() {
    let (dir, honest) = converted("header");
    for (i, shard) in honest.shards.iter().enumerate() {
        let bytes = std::fs::read(dir.path().join(&shard.file)).unwrap();
        let len = source_header::header_len(&bytes).unwrap() as usize;
        assert!(len < bytes.len());
        check_shard_header(&honest, i, &bytes[..len]).unwrap();
        assert!(check_shard_header(&honest, i, &bytes[..len - 1]).unwrap_err().contains("needs"));
    }
    let q = honest.tensors.iter().position(|t| t.dtype == Stored::Q8).unwrap();
    let shard = honest.tensors[q].shard;
    let bytes = std::fs::read(dir.path().join(&honest.shards[shard].file)).unwrap();
    let mut m = honest.clone();
    m.tensors[q].offset += 4;
    assert!(check_shard_header(&m, shard, &bytes).unwrap_err().contains("disagree"));
    let mut m = honest.clone();
    m.tensors[q].dtype = Stored::F32;
    m.tensors[q].shape = vec![(m.tensors[q].length / 4) as usize];
    assert!(check_shard_header(&m, shard, &bytes).unwrap_err().contains("disagree"));
    let mut m = honest.clone();
    m.tensors[q].name = "not.in.this.shard".into();
    assert!(check_shard_header(&m, shard, &bytes).unwrap_err().contains("does not hold"));
    assert!(check_shard_header(&honest, 99, &bytes).is_err());
}

#[test]
fn index_files_name_plain_files() {
    for (json, want) in [
        (r#"{"weight_map": {"a": "../model.safetensors"}}"#, "only letters"),
        (r#"{"weight_map": {"a": "/abs/model.safetensors"}}"#, "only letters"),
        (r#"{"weight_map": {}}"#, "no files"),
        (r#"{"weight_map": 3}"#, "no weight_map"),
    ] {
        let err = source_header::index_files(json).unwrap_err();
        assert!(err.contains(want), "{json}: {err}");
    }
    let ok = r#"{"weight_map": {"a": "model-00002-of-00002.safetensors", "b": "model-00001-of-00002.safetensors", "c": "model-00001-of-00002.safetensors"}}"#;
    assert_eq!(source_header::index_files(ok).unwrap(), ["model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"]);
    let big = format!("{{\"weight_map\": {{}}, \"pad\": \"{}\"}}", " ".repeat(FileKind::Index.max_bytes() as usize));
    assert!(source_header::index_files(&big).unwrap_err().contains("more than a weights index"));
}

/// A source header may declare a tensor of any size; the plan refuses one too large to store
/// before the converter allocates a shard buffer for it (the header is 100 bytes, the tensor
/// would be 400 GB).
#[test]
fn huge_declared_tensors_are_refused_before_staging() {
    let header = r#"{"language_model.model.shared.weight":{"dtype":"F32","shape":[100000000000,1],"data_offsets":[0,400000000000]}}"#;
    let mut file = (header.len() as u64).to_le_bytes().to_vec();
    file.extend_from_slice(header.as_bytes());
    let parsed = source_header::parse("model.safetensors", &file).unwrap();
    for quant in [Stored::Q4, Stored::Q8, Stored::F16, Stored::F32] {
        let err = ConversionPlan::new(vec![parsed.clone()], Options::quant(quant)).err().expect("planned");
        assert!(err.contains("too large"), "{err}");
    }
}

#[test]
fn conversion_never_writes_into_its_source() {
    let src = TempDir::new("convert-src");
    for entry in std::fs::read_dir(fixture("tiny224")).unwrap() {
        let path = entry.unwrap().path();
        std::fs::copy(&path, src.path().join(path.file_name().unwrap())).unwrap();
    }
    let snapshot = || -> Vec<(String, Vec<u8>)> {
        let mut files: Vec<_> = std::fs::read_dir(src.path()).unwrap().map(|e| e.unwrap().path()).collect();
        files.sort();
        files.iter().map(|p| (p.display().to_string(), std::fs::read(p).unwrap())).collect()
    };
    let before = snapshot();
    let link = std::env::temp_dir().join(format!("visionllm-weights-convert-link-{}", std::process::id()));
    let _ = std::fs::remove_file(&link);
    std::os::unix::fs::symlink(src.path(), &link).unwrap();
    let name = src.path().file_name().unwrap().to_str().unwrap().to_string();
    let spellings = [
        src.path().to_path_buf(),
        src.path().join("."),
        src.path().join("sub"),
        src.path().join("sub/deeper/.."),
        src.path().join(format!("../{name}")),
        src.path().join("missing/.."),
        link.clone(),
        link.join("out"),
    ];
    for to in &spellings {
        let err = convert_dir(src.path(), to, &Options::quant(Stored::Q4)).err().unwrap_or_else(|| panic!("{} accepted", to.display()));
        assert!(err.to_string().contains("overwrite the checkpoint"), "{}: {err}", to.display());
    }
    // The symlink as the source, the real folder as the output: the same folder.
    assert!(convert_dir(&link, src.path(), &Options::quant(Stored::Q4)).is_err());
    assert!(before == snapshot(), "the source changed");
    assert!(!src.path().join("sub").exists() && !src.path().join("manifest.json").exists());
    let out = TempDir::new("convert-sibling");
    convert_dir(&link, out.path(), &Options::quant(Stored::Q4)).unwrap();
    let _ = std::fs::remove_file(&link);
}
