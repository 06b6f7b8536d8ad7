//! The codes a node reports with `TaskManager.reportError` when it cannot run a task, and
//! their names for people. The contract gives one of them a meaning:
//! [`ARGS_UNAVAILABLE`] is its `ERROR_ARGS_UNAVAILABLE`.

/// The arguments are invalid (every honest seat sees the same bytes, so all report it).
pub const BAD_ARGS: u32 = 1;
/// A model the task needs is not available or is corrupt.
pub const MODEL_UNAVAILABLE: u32 = 2;
/// The task asks for something this engine does not support.
pub const UNSUPPORTED: u32 = 3;
/// The engine failed (out of memory, a backend error).
pub const ENGINE_FAILED: u32 = 4;
/// The output is unusable (an all-zero score: a black image).
pub const BAD_OUTPUT: u32 = 5;
/// The arguments could not be had: the relay did not serve them in time, or served
/// bytes that do not hash to the task's hash. The contract's `ERROR_ARGS_UNAVAILABLE`:
/// reported alone it costs the reward, never stake, so withholding the arguments from
/// one seat cannot get it slashed.
pub const ARGS_UNAVAILABLE: u32 = 6;

/// A short name for a code, for logs and the app.
pub fn name(code: u32) -> &'static str {
    match code {
        BAD_ARGS => "bad arguments",
        MODEL_UNAVAILABLE => "model unavailable",
        UNSUPPORTED => "unsupported task",
        ENGINE_FAILED => "engine failed",
        BAD_OUTPUT => "unusable output",
        ARGS_UNAVAILABLE => "arguments unavailable",
        _ => "unknown error",
    }
}
