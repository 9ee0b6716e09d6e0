//! What a linear layer's store does after the bias, on every backend: the exact GELU, or adding a
//! residual, so a layer and its follow-up write the output once (`shaders/lib/epilogue.wgsl`, the
//! CPU backend's matmul store). Generic over the backend's tensor type.

#[derive(Debug)]
pub enum Epilogue<'a, T> {
    None,
    /// The exact GELU of the output (an MLP's first layer).
    Gelu,
    /// Adds a tensor with the output's elements in the output's order, whatever its shape
    /// ([H, W, C] against [H*W, C] is fine): a residual connection.
    Residual(&'a T),
}

// By hand: derives would ask `T: Clone`, but only the reference is copied.
impl<T> Clone for Epilogue<'_, T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T> Copy for Epilogue<'_, T> {}

impl<T> Default for Epilogue<'_, T> {
    fn default() -> Self {
        Epilogue::None
    }
}

impl<'a, T> Epilogue<'a, T> {
    pub fn is_gelu(&self) -> bool {
        matches!(self, Epilogue::Gelu)
    }

    /// The residual to add after the other operands, if any.
    pub fn residual(&self) -> Option<&'a T> {
        match self {
            Epilogue::Residual(r) => Some(r),
            _ => None,
        }
    }

    /// The same epilogue over another tensor type (a backend's own view of the residual).
    pub fn map<'b, U>(&self, f: impl FnOnce(&'a T) -> &'b U) -> Epilogue<'b, U> {
        match *self {
            Epilogue::None => Epilogue::None,
            Epilogue::Gelu => Epilogue::Gelu,
            Epilogue::Residual(r) => Epilogue::Residual(f(r)),
        }
    }
}
