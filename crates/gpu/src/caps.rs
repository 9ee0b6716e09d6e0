//! What the adapter can do, what we asked for, and the overrides that force fallbacks off so that
//! every fallback path is exercised by the tests (and can be chosen by a user whose driver is buggy).

/// How the invocations of a kernel's workgroup share work. Chosen per adapter (see
/// [`Tiling::for_adapter`]); both kinds are held to the same CPU twins by the conformance suite.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Tiling {
    /// Shared-memory tiles and workgroup reductions: what a real GPU wants.
    Workgroup,
    /// No workgroup memory and no barriers: each invocation owns whole outputs (an 8x4 block of a
    /// matmul, a GEMV output, a row of a layernorm, a query of attention). Software adapters (SwiftShader,
    /// lavapipe) run a workgroup's invocations as coroutines, so every `workgroupBarrier()` is a
    /// context switch per invocation: measured 10x slower on SwiftShader (`shared/browser-facts.md`).
    Registers,
}

impl Tiling {
    /// Registers on software adapters, workgroup tiles elsewhere.
    pub fn for_adapter(is_software: bool) -> Tiling {
        if is_software {
            Tiling::Registers
        } else {
            Tiling::Workgroup
        }
    }

    pub fn parse(s: &str) -> Option<Tiling> {
        match s.trim().to_ascii_lowercase().as_str() {
            "workgroup" => Some(Tiling::Workgroup),
            "registers" => Some(Tiling::Registers),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Tiling::Workgroup => "workgroup",
            Tiling::Registers => "registers",
        }
    }
}

/// Switches that force optional features off even when the adapter has them, and a forced tiling.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Overrides {
    pub no_f16: bool,
    pub no_subgroups: bool,
    /// `None`: the adapter's own ([`Tiling::for_adapter`]).
    pub tiling: Option<Tiling>,
}

impl Overrides {
    pub const NONE: Overrides = Overrides { no_f16: false, no_subgroups: false, tiling: None };

    /// Natively: `VISIONLLM_NO_F16=1`, `VISIONLLM_NO_SUBGROUPS=1`, `VISIONLLM_TILING=registers|workgroup`.
    pub fn from_env() -> Self {
        #[cfg(not(target_arch = "wasm32"))]
        {
            let on = |k: &str| std::env::var(k).map(|v| !v.is_empty() && v != "0").unwrap_or(false);
            Overrides {
                no_f16: on("VISIONLLM_NO_F16"),
                no_subgroups: on("VISIONLLM_NO_SUBGROUPS"),
                tiling: std::env::var("VISIONLLM_TILING").ok().and_then(|v| Tiling::parse(&v)),
            }
        }
        #[cfg(target_arch = "wasm32")]
        Overrides::NONE
    }

    /// In the browser: a page query such as `?no-f16&no-subgroups&tiling=registers` (also `no_f16=1`).
    pub fn from_query(query: &str) -> Self {
        let mut o = Overrides::NONE;
        for pair in query.trim_start_matches('?').split('&') {
            let (key, value) = pair.split_once('=').unwrap_or((pair, "1"));
            let on = !matches!(value, "0" | "false" | "no");
            match key.replace('_', "-").as_str() {
                "no-f16" => o.no_f16 = on,
                "no-subgroups" => o.no_subgroups = on,
                "tiling" => o.tiling = Tiling::parse(value),
                _ => {}
            }
        }
        o
    }

    /// Combine two sources: a feature is off when either says so; a tiling from `self` first.
    pub fn or(self, other: Overrides) -> Self {
        Overrides {
            no_f16: self.no_f16 || other.no_f16,
            no_subgroups: self.no_subgroups || other.no_subgroups,
            tiling: self.tiling.or(other.tiling),
        }
    }
}

/// Who the adapter is, for the capability panel and test logs.
#[derive(Clone, Debug)]
pub struct AdapterSummary {
    pub name: String,
    pub vendor: u32,
    pub backend: String,
    pub device_type: String,
    pub driver: String,
    /// A software adapter (lavapipe, SwiftShader): correct but slow.
    pub is_software: bool,
}

/// What the device was created with: the features we may use and the limits actually granted.
#[derive(Clone, Debug)]
pub struct Capabilities {
    pub adapter: AdapterSummary,
    /// `shader-f16` was requested and granted.
    pub f16: bool,
    /// `subgroups` was requested and granted.
    pub subgroups: bool,
    pub subgroup_min_size: u32,
    pub subgroup_max_size: u32,
    /// The features the adapter offered before overrides, so a report can say what was forced off.
    pub adapter_f16: bool,
    pub adapter_subgroups: bool,
    pub limits: wgpu::Limits,
    /// Which kernels the launchers pick (forced by [`Overrides::tiling`], else the adapter's).
    pub tiling: Tiling,
}

impl Capabilities {
    /// One line for logs: adapter, backend, features in use.
    pub fn describe(&self) -> String {
        format!(
            "{} ({}, {}{}) f16={} subgroups={} [{}..{}] tiling={} max_binding={} MiB",
            self.adapter.name,
            self.adapter.backend,
            self.adapter.device_type,
            if self.adapter.is_software { ", software" } else { "" },
            flag(self.f16, self.adapter_f16),
            flag(self.subgroups, self.adapter_subgroups),
            self.subgroup_min_size,
            self.subgroup_max_size,
            self.tiling.name(),
            self.limits.max_storage_buffer_binding_size / (1 << 20),
        )
    }
}

fn flag(used: bool, offered: bool) -> &'static str {
    match (used, offered) {
        (true, _) => "on",
        (false, true) => "forced-off",
        (false, false) => "unsupported",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_overrides_parse() {
        assert_eq!(Overrides::from_query("?no-f16&no-subgroups"), Overrides { no_f16: true, no_subgroups: true, tiling: None });
        assert_eq!(Overrides::from_query("no_f16=1&x=2"), Overrides { no_f16: true, ..Overrides::NONE });
        assert_eq!(Overrides::from_query("tiling=registers").tiling, Some(Tiling::Registers));
        assert_eq!(Overrides::from_query("tiling=Workgroup&no-f16").tiling, Some(Tiling::Workgroup));
        assert_eq!(Overrides::from_query("tiling=fast").tiling, None);
        assert_eq!(Overrides::from_query("no-subgroups=0"), Overrides::NONE);
        assert_eq!(Overrides::from_query(""), Overrides::NONE);
    }
}
