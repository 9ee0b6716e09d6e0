// transformers.js (@huggingface/transformers, fp32; WebGPU device, or `?device=wasm`: onnxruntime-web's
// WebAssembly SIMD backend, threaded only where the page is cross-origin isolated) running the
// Florence-2 export of crates/bench/export_onnx.py on the inputs the export wrote (inputs.json:
// prompt ids and pixel values), greedy, page query `?model=/path/to/export/`. `window.runPeer()` loads the model once and returns one run's figures: wall time
// of generate(), the time inside each ONNX session (vision_encoder = vision + projector,
// embed_tokens, encoder_model, decoder_model_merged = every decoder step) and the generated ids.
import { env, Florence2ForConditionalGeneration, Tensor } from './node_modules/@huggingface/transformers/dist/transformers.web.js';

const log = (s) => { document.getElementById('log').textContent = s; };
const params = new URLSearchParams(location.search);
// A path on this origin, not a URL: transformers.js treats URLs as remote (refused offline).
const MODEL = new URL(params.get('model') || '../peer-model/', location.href).pathname.replace(/\/$/, '');
const ORT = new URL('./node_modules/onnxruntime-web/dist/', location.href).href;
const DEVICE = params.get('device') === 'wasm' ? 'wasm' : 'webgpu';

env.allowRemoteModels = false;
env.allowLocalModels = true;
env.localModelPath = '';
env.useBrowserCache = false;
env.backends.onnx.wasm.wasmPaths = { mjs: `${ORT}ort-wasm-simd-threaded.asyncify.mjs`, wasm: `${ORT}ort-wasm-simd-threaded.asyncify.wasm` };

let model = null;
let inputs = null;
const spent = {};

/** Time every session.run (ONNX Runtime returns outputs on the CPU: the GPU work is finished). */
function clockSessions(m) {
  for (const [name, session] of Object.entries(m.sessions)) {
    const run = session.run.bind(session);
    session.run = async (...args) => {
      const t = performance.now();
      try { return await run(...args); } finally {
        spent[name] = spent[name] || { ms: 0, calls: 0 };
        spent[name].ms += performance.now() - t;
        spent[name].calls += 1;
      }
    };
  }
}

async function load() {
  const t = performance.now();
  inputs = await (await fetch(`${MODEL}/inputs.json`)).json();
  model = await Florence2ForConditionalGeneration.from_pretrained(MODEL, { device: DEVICE, dtype: 'fp32' });
  clockSessions(model);
  return performance.now() - t;
}

window.runPeer = async () => {
  let load_ms = null;
  if (!model) load_ms = await load();
  for (const k of Object.keys(spent)) delete spent[k];
  const side = inputs.image_size;
  const ids = inputs.prompt_ids;
  const input_ids = new Tensor('int64', BigInt64Array.from(ids.map(BigInt)), [1, ids.length]);
  const attention_mask = new Tensor('int64', BigInt64Array.from(ids.map(() => 1n)), [1, ids.length]);
  const pixel_values = new Tensor('float32', Float32Array.from(inputs.pixel_values), [1, 3, side, side]);
  const t = performance.now();
  const out = await model.generate({
    input_ids, attention_mask, pixel_values,
    max_new_tokens: inputs.max_new_tokens, do_sample: false, num_beams: 1,
  });
  const wall = performance.now() - t;
  const generated = Array.from(out.data, Number);
  const stage = (n) => spent[n] ? Math.round(spent[n].ms) : null;
  const result = {
    engine: 'transformers.js', load_ms: load_ms && Math.round(load_ms), wall_ms: Math.round(wall),
    vision_ms: stage('vision_encoder'), embed_ms: stage('embed_tokens'), encoder_ms: stage('model'),
    decode_ms: stage('decoder_model_merged'), decoder_steps: spent.decoder_model_merged?.calls ?? 0,
    ids: generated, reference_ids: inputs.reference_ids,
  };
  log(JSON.stringify(result));
  return result;
};
log('ready');
