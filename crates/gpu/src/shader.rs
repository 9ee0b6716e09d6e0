//! WGSL variants from one source: a tiny preprocessor and a per-target header.
//!
//! Why a preprocessor and not only override constants: the element type (f32 or f16), optional
//! entry-point builtins (subgroups) and private array sizes cannot be pipeline constants in WGSL.
//! Why a per-target header: Chrome requires `enable subgroups;` while naga (native) rejects it and
//! enables subgroup builtins from the device feature alone.
//!
//! Syntax, each on its own line: `#if NAME`, `#ifnot NAME`, `#else`, `#endif` (nesting allowed).
//! `$NAME` anywhere is replaced by a define's value; `#include NAME` pastes `shaders/lib/NAME.wgsl`
//! (once per module, even when libraries include each other; before the `#if` pass, so a library
//! may use flags too); `$SUBGROUP_ARGS` / `$SUBGROUP_INIT` become the subgroup builtins when
//! `SUBGROUPS` is on. Flags with a meaning to the header: `F16` (element type `T`/`T4` is f16 and
//! `enable f16;` is emitted), `SUBGROUPS`.

/// (name, text) of `shaders/lib/NAME.wgsl`, embedded at compile time like the kernels (`kernel!`).
macro_rules! lib {
    ($name:literal) => {
        ($name, include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/../../shaders/lib/", $name, ".wgsl")))
    };
}

/// The WGSL libraries `#include` can paste, by name.
const LIBS: &[(&str, &str)] = &[
    // Workgroup reductions (sum, max) shared by the row kernels, with a subgroup fast path.
    lib!("reduce"),
    // Stable row log-sum-exp (max, then sum of exp) for softmax and log-probabilities.
    lib!("logsumexp"),
    // The 64x64 register-tiled matmul loop and its bounds-checked store, for dense and quantized weights.
    lib!("tile"),
    // The one-row GEMV entry point (split K, one reduction) for the same two kernels.
    lib!("gemv"),
    lib!("regs"),
    lib!("gelu"),
    lib!("epilogue"),
];

/// Entry-point parameters and their copy into module-scope privates, used by the reduce library.
const SUBGROUP_ARGS: &str = ", @builtin(subgroup_invocation_id) sgi_: u32, @builtin(subgroup_size) sgs_: u32";
const SUBGROUP_INIT: &str = "sg_inv = sgi_; sg_size = sgs_;";

/// Which compiler will read the WGSL.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ShaderTarget {
    /// naga inside wgpu (Vulkan, Metal, DX12).
    Naga,
    /// A browser's WebGPU (Tint in Chrome).
    Browser,
}

impl ShaderTarget {
    pub fn current() -> Self {
        if cfg!(target_arch = "wasm32") {
            ShaderTarget::Browser
        } else {
            ShaderTarget::Naga
        }
    }
}

/// One compiled form of a kernel source.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Variant {
    pub flags: Vec<&'static str>,
    pub defines: Vec<(&'static str, u32)>,
}

impl Variant {
    pub fn new() -> Self {
        Variant::default()
    }

    pub fn flag(mut self, name: &'static str, on: bool) -> Self {
        if on {
            self.flags.push(name);
        }
        self
    }

    pub fn define(mut self, name: &'static str, value: u32) -> Self {
        self.defines.push((name, value));
        self
    }

    pub fn has(&self, name: &str) -> bool {
        self.flags.contains(&name)
    }

    pub fn key(&self) -> String {
        let mut k = self.flags.join("+");
        for (n, v) in &self.defines {
            k.push_str(&format!(",{n}={v}"));
        }
        k
    }
}

/// Expand `source` for `variant` on `target`.
pub fn preprocess(source: &str, variant: &Variant, target: ShaderTarget) -> String {
    let mut out = String::with_capacity(source.len() + 256);
    if variant.has("F16") {
        out.push_str("enable f16;\nalias T = f16;\nalias T4 = vec4<f16>;\n");
    } else {
        out.push_str("alias T = f32;\nalias T4 = vec4<f32>;\n");
    }
    if variant.has("SUBGROUPS") && target == ShaderTarget::Browser {
        out.push_str("enable subgroups;\n");
    }
    let source = expand_includes(source, &mut Vec::new());
    // Each frame: (this branch is active, an enclosing branch is active).
    let mut stack: Vec<(bool, bool)> = Vec::new();
    let active = |stack: &Vec<(bool, bool)>| stack.iter().all(|(on, _)| *on);
    for line in source.lines() {
        let t = line.trim();
        if let Some(name) = t.strip_prefix("#ifnot ") {
            let parent = active(&stack);
            stack.push((!variant.has(name.trim()), parent));
        } else if let Some(name) = t.strip_prefix("#if ") {
            let parent = active(&stack);
            stack.push((variant.has(name.trim()), parent));
        } else if t == "#else" {
            let top = stack.last_mut().expect("#else without #if");
            top.0 = !top.0;
        } else if t == "#endif" {
            stack.pop().expect("#endif without #if");
        } else if active(&stack) {
            let mut l = substitute_defines(line, &variant.defines);
            let sg = variant.has("SUBGROUPS");
            l = l.replace("$SUBGROUP_ARGS", if sg { SUBGROUP_ARGS } else { "" });
            l = l.replace("$SUBGROUP_INIT", if sg { SUBGROUP_INIT } else { "" });
            out.push_str(&l);
            out.push('\n');
        }
    }
    assert!(stack.is_empty(), "unterminated #if in shader source");
    out
}

/// `source` with every `#include NAME` line replaced by that library (itself expanded), each
/// library pasted at its first include only: WGSL forbids declaring a name twice.
/// Replace each `$NAME` of a define by its value; a name ends where identifier characters end, so
/// `$HD4` is never read as `$HD` followed by `4`.
fn substitute_defines(line: &str, defines: &[(&'static str, u32)]) -> String {
    let mut out = String::with_capacity(line.len());
    let mut rest = line;
    while let Some(at) = rest.find('$') {
        out.push_str(&rest[..at]);
        let after = &rest[at + 1..];
        let len = after.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).unwrap_or(after.len());
        match defines.iter().find(|(n, _)| *n == &after[..len]) {
            Some((_, value)) => out.push_str(&value.to_string()),
            None => out.push_str(&rest[at..at + 1 + len]),
        }
        rest = &after[len..];
    }
    out.push_str(rest);
    out
}

fn expand_includes(source: &str, done: &mut Vec<&'static str>) -> String {
    let mut out = String::with_capacity(source.len());
    for line in source.lines() {
        match line.trim().strip_prefix("#include ") {
            Some(name) => {
                let name = name.trim();
                let &(lib, text) = LIBS.iter().find(|(n, _)| *n == name).unwrap_or_else(|| panic!("#include of unknown WGSL library {name:?}"));
                if !done.contains(&lib) {
                    done.push(lib);
                    out.push_str(&expand_includes(text, done));
                }
            }
            None => {
                out.push_str(line);
                out.push('\n');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_select_branches_and_defines_substitute() {
        let src = "a\n#if X\nb $N\n#ifnot Y\nc\n#else\nd\n#endif\n#else\ne\n#endif\nf";
        let v = Variant::new().flag("X", true).define("N", 7);
        let out = preprocess(src, &v, ShaderTarget::Naga);
        assert!(out.ends_with("a\nb 7\nc\nf\n"), "{out}");
        let out = preprocess(src, &Variant::new(), ShaderTarget::Naga);
        assert!(out.ends_with("a\ne\nf\n"), "{out}");
    }

    #[test]
    fn defines_substitute_whole_names_only() {
        let v = Variant::new().define("HD", 64).define("HD4", 16);
        let out = preprocess("const A = $HD; const B = $HD4; $SUBGROUP_ARGS $X", &v, ShaderTarget::Naga);
        assert!(out.ends_with("const A = 64; const B = 16;  $X\n"), "{out}");
    }

    #[test]
    fn includes_paste_each_library_once() {
        // logsumexp includes reduce itself; the kernel including both still gets one copy.
        let out = preprocess("#include reduce\n#include logsumexp\n", &Variant::new(), ShaderTarget::Naga);
        assert_eq!(out.matches("fn wg_reduce(").count(), 1, "{out}");
        assert_eq!(out.matches("fn row_logsumexp(").count(), 1, "{out}");
        assert!(!out.contains("#include"), "{out}");
    }

    #[test]
    #[should_panic(expected = "unknown WGSL library")]
    fn unknown_include_is_refused() {
        preprocess("#include nothing_here\n", &Variant::new(), ShaderTarget::Naga);
    }

    #[test]
    fn header_differs_per_target() {
        let v = Variant::new().flag("SUBGROUPS", true).flag("F16", true);
        assert!(preprocess("", &v, ShaderTarget::Browser).contains("enable subgroups;"));
        assert!(!preprocess("", &v, ShaderTarget::Naga).contains("enable subgroups;"));
        assert!(preprocess("", &v, ShaderTarget::Naga).contains("enable f16;"));
    }
}
