// transformers.js imports onnxruntime-common's Tensor beside onnxruntime-web; the web bundle carries
// its own copy of onnxruntime-common, so both names resolve to that one copy (one Tensor class).
export * from './node_modules/onnxruntime-web/dist/ort.webgpu.bundle.min.mjs';
