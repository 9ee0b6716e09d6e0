//! `visionllm convert`: a Florence-2 checkpoint -> the quantized sharded format (manifest.json +
//! safetensors shards of at most 64 MiB, sha256 each), with a size and error table per class.

use std::path::PathBuf;

use visionllm_weights::classify::Plan;
use visionllm_weights::convert::{convert_dir, Options};
use visionllm_weights::Stored;

use crate::args::Args;

pub const USAGE: &str = "\
USAGE: visionllm convert --from DIR --to DIR --quant q4|q8|f16|f32 [--embedding q4|q8|f16|f32]
                         [--shard-mb N]

Reads a Florence-2 checkpoint directory (config.json + model.safetensors, or shards listed in
model.safetensors.index.json), in the native transformers layout or with the original Microsoft
key names (pytorch_model.bin must be saved as safetensors first; the error says how), and writes
DIR/manifest.json, DIR/model-0000i-of-0000n.safetensors and copies of config.json, tokenizer.json
and the processor files.

  --quant      matmul weights (qkv, proj, fc1, fc2, q/k/v/out_proj, image_projection): q4 or q8
               (symmetric, one f16 scale per 32 values, packed as the GPU kernels read them),
               f16 or f32. Norms, biases, convolutions and position tables are stored f16
               (f32 with --quant f32).
  --embedding  the tied word embedding / lm_head table (default: as --quant). The loader keeps
               it quantized for the lm_head and dequantizes a dense copy for the lookup.
  --shard-mb   shard size limit in MiB, 1..256 (default 64; a larger single tensor gets its own shard)

The output folder must not be the source folder or inside it (checked after resolving symlinks).";

fn dtype(flag: &str, value: &str) -> Result<Stored, String> {
    Stored::parse(value).ok_or_else(|| format!("{flag} {value:?}: expected q4, q8, f16 or f32"))
}

pub fn run(args: &mut Args) -> Result<(), String> {
    let from = PathBuf::from(args.required("--from")?);
    let to = PathBuf::from(args.required("--to")?);
    let quant = dtype("--quant", &args.required("--quant")?)?;
    let embedding = args.value("--embedding")?.map(|v| dtype("--embedding", &v)).transpose()?;
    let shard_mb = args.value("--shard-mb")?.map(|v| v.parse::<u64>().map_err(|_| format!("--shard-mb {v:?} is not a number"))).transpose()?;
    std::mem::take(args).finish()?;
    let mut opts = Options::quant(quant);
    opts.plan = Plan { embedding: embedding.unwrap_or(quant), ..opts.plan };
    if let Some(mb) = shard_mb {
        if !(1..=256).contains(&mb) {
            return Err(format!("--shard-mb {mb}: shards are 1 to 256 MiB"));
        }
        opts.max_shard_bytes = mb << 20;
    }
    let report = convert_dir(&from, &to, &opts).map_err(|e| e.to_string())?;
    print!("{}", report.table());
    println!("wrote {}", to.join("manifest.json").display());
    Ok(())
}
