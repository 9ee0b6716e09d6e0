//! A tiny argument reader shared by the subcommands: `--key value`, `--key=value`, `--flag`.
//! Subcommands take what they know, then call `finish` so leftovers are reported, not ignored.

#[derive(Default)]
pub struct Args {
    rest: Vec<String>,
}

impl Args {
    pub fn new(args: Vec<String>) -> Self {
        Self { rest: args }
    }

    /// Removes `--name` (a boolean flag) and says whether it was there.
    pub fn flag(&mut self, name: &str) -> bool {
        let before = self.rest.len();
        self.rest.retain(|a| a != name);
        self.rest.len() != before
    }

    /// Removes `--name value` or `--name=value` and returns the value.
    pub fn value(&mut self, name: &str) -> Result<Option<String>, String> {
        let prefix = format!("{name}=");
        if let Some(i) = self.rest.iter().position(|a| a.starts_with(&prefix)) {
            return Ok(Some(self.rest.remove(i)[prefix.len()..].to_string()));
        }
        let Some(i) = self.rest.iter().position(|a| a == name) else {
            return Ok(None);
        };
        if i + 1 >= self.rest.len() {
            return Err(format!("{name} needs a value"));
        }
        let value = self.rest.remove(i + 1);
        self.rest.remove(i);
        Ok(Some(value))
    }

    /// Removes and returns the first positional argument: the one after `--`, else the first
    /// that does not start with `--`. Take named values first (`--region 1,2,3,4`).
    pub fn positional(&mut self) -> Option<String> {
        if let Some(i) = self.rest.iter().position(|a| a == "--") {
            self.rest.remove(i);
            return (i < self.rest.len()).then(|| self.rest.remove(i));
        }
        let i = self.rest.iter().position(|a| !a.starts_with("--"))?;
        Some(self.rest.remove(i))
    }

    /// Removes the first argument when it is `word` (a sub-subcommand: `label merge ...`).
    pub fn leading(&mut self, word: &str) -> bool {
        let found = self.rest.first().is_some_and(|a| a == word);
        if found {
            self.rest.remove(0);
        }
        found
    }

    /// Whether `--name` (or `--name=...`) was given, without taking it.
    pub fn has(&self, name: &str) -> bool {
        let prefix = format!("{name}=");
        self.rest.iter().any(|a| a == name || a.starts_with(&prefix))
    }

    /// The value of `--name value` or `--name=value`, without taking it.
    pub fn peek(&self, name: &str) -> Option<&str> {
        let prefix = format!("{name}=");
        let i = self.rest.iter().position(|a| a == name || a.starts_with(&prefix))?;
        match self.rest[i].strip_prefix(&prefix) {
            Some(v) => Some(v),
            None => self.rest.get(i + 1).map(String::as_str),
        }
    }

    pub fn required(&mut self, name: &str) -> Result<String, String> {
        self.value(name)?.ok_or_else(|| format!("missing {name}"))
    }

    /// Errors on anything not consumed.
    pub fn finish(self) -> Result<(), String> {
        if self.rest.is_empty() {
            Ok(())
        } else {
            Err(format!("unexpected arguments: {}", self.rest.join(" ")))
        }
    }
}
