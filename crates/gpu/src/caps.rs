//! What the adapter can do, what we asked for, and the overrides that force fallbacks off so that
//! every fallback path is exercised by the tests (and can be chosen by a user whose driver is buggy).

/// Switches that force optional features off even when the adapter has them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Overrides {
    pub no_f16: bool,
    pub no_subgroups: bool,
}

impl Overrides {
    pub const NONE: Overrides = Overrides { no_f16: false, no_subgroups: false };

    /// Natively: `VISIONLLM_NO_F16=1` and `VISIONLLM_NO_SUBGROUPS=1`.
    pub fn from_env() -> Self {
        #[cfg(not(target_arch = "wasm32"))]
        {
            let on = |k: &str| std::env::var(k).map(|v| !v.is_empty() && v != "0").unwrap_or(false);
            Overrides { no_f16: on("VISIONLLM_NO_F16"), no_subgroups: on("VISIONLLM_NO_SUBGROUPS") }
        }
        #[cfg(target_arch = "wasm32")]
        Overrides::NONE
    }

    /// In the browser: a page query such as `?no-f16&no-subgroups` (also `no_f16=1`).
    pub fn from_query(query: &str) -> Self {
        let mut o = Overrides::NONE;
        for pair in query.trim_start_matches('?').split('&') {
            let (key, value) = pair.split_once('=').unwrap_or((pair, "1"));
            let on = !matches!(value, "0" | "false" | "no");
            match key.replace('_', "-").as_str() {
                "no-f16" => o.no_f16 = on,
                "no-subgroups" => o.no_subgroups = on,
                _ => {}
            }
        }
        o
    }

    /// Combine two sources: a feature is off when either says so.
    pub fn or(self, other: Overrides) -> Self {
        Overrides { no_f16: self.no_f16 || other.no_f16, no_subgroups: self.no_subgroups || other.no_subgroups }
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
}

impl Capabilities {
    /// One line for logs: adapter, backend, features in use.
    pub fn describe(&self) -> String {
        format!(
            "{} ({}, {}{}) f16={} subgroups={} [{}..{}] max_binding={} MiB",
            self.adapter.name,
            self.adapter.backend,
            self.adapter.device_type,
            if self.adapter.is_software { ", software" } else { "" },
            flag(self.f16, self.adapter_f16),
            flag(self.subgroups, self.adapter_subgroups),
            self.subgroup_min_size,
            self.subgroup_max_size,
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
        assert_eq!(Overrides::from_query("?no-f16&no-subgroups"), Overrides { no_f16: true, no_subgroups: true });
        assert_eq!(Overrides::from_query("no_f16=1&x=2"), Overrides { no_f16: true, no_subgroups: false });
        assert_eq!(Overrides::from_query("no-subgroups=0"), Overrides::NONE);
        assert_eq!(Overrides::from_query(""), Overrides::NONE);
    }
}
