//! Named values of the contracts' enums. The JSON ABI carries Solidity enums as `uint8`, so
//! struct fields and event parameters holding them are plain `u8`s; these associated
//! constants give the values their names: `task.state == TaskState::SUCCESS`.

use crate::{Appeals, NodeRegistry::NodeStatus, TaskManager};
use Appeals::{AppealState, JurorStatus, Vote};
use TaskManager::{AbortReason, NodeOutcome, PaymentKind, SeatStatus, TaskState};

macro_rules! named {
    ($ty:ty { $($name:ident = $value:literal),* $(,)? }) => {
        impl $ty {
            $(
                #[doc = concat!("The Solidity value `", stringify!($name), "`.")]
                pub const $name: u8 = $value;
            )*

            /// The Solidity name of a value (`"Unknown"` past the last one).
            pub fn name(value: u8) -> &'static str {
                match value {
                    $($value => stringify!($name),)*
                    _ => "Unknown",
                }
            }
        }
    };
}

named!(NodeStatus { QUIT = 0, AVAILABLE = 1, BUSY = 2, PENDING_PAUSE = 3, PENDING_QUIT = 4, PAUSED = 5 });
named!(TaskState {
    NONE = 0, WAITING_SEED = 1, QUEUED = 2, RUNNING = 3, REVEALING = 4, VALIDATED = 5, SUCCESS = 6, ABORTED = 7
});
named!(AbortReason {
    NONE = 0, NO_MAJORITY = 1, TOO_MANY_ERRORS = 2, TOO_FEW_COMMITMENTS = 3, TOO_FEW_REVEALS = 4,
    QUEUE_FULL = 5, EVICTED = 6, SEED_NOT_REVEALED = 7, QUEUE_TIMEOUT = 8, UPLOAD_MISSED = 9
});
named!(SeatStatus {
    EMPTY = 0, SELECTED = 1, COMMITTED = 2, ERRORED = 3, REVEALED = 4, TIMED_OUT = 5, WITHHELD = 6
});
named!(NodeOutcome {
    SUCCESS = 0, NO_FAULT = 1, TIMEOUT = 2, DISSENT = 3, WITHHELD = 4, ERRORED = 5, UPLOAD_MISSED = 6
});
named!(PaymentKind { REWARD = 0, REFUND = 1, PENALTY = 2 });
named!(AppealState {
    NONE = 0, DRAWING = 1, JUDGING = 2, REVEALING = 3, OVERTURNED = 4, UPHELD = 5, VOID = 6, FORFEITED = 7
});
named!(JurorStatus {
    EMPTY = 0, SELECTED = 1, COMMITTED = 2, REVEALED = 3, TIMED_OUT = 4, WITHHELD = 5, ERRORED = 6
});
named!(Vote { NONE = 0, MAJORITY = 1, DISSENT = 2, BOTH = 3, NEITHER = 4 });
