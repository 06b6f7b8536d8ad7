//! `worker-protocol`: the JSON shapes of the messages between the Provide page and the node
//! worker. Decoding any bytes never panics, and whatever decodes survives a round trip.

use serde::Serialize;
use serde::de::DeserializeOwned;
use worker_protocol::{Activity, Command, Event, NodeView};

fn round_trip<T: Serialize + DeserializeOwned + PartialEq + std::fmt::Debug>(data: &[u8]) {
    if let Ok(value) = serde_json::from_slice::<T>(data) {
        let text = serde_json::to_string(&value).expect("a decoded message encodes");
        let again: T = serde_json::from_str(&text).expect("an encoded message decodes");
        assert_eq!(again, value, "{text}");
    }
}

fn main() {
    afl::fuzz!(|data: &[u8]| {
        round_trip::<Command>(data);
        round_trip::<Event>(data);
        round_trip::<NodeView>(data);
        round_trip::<Activity>(data);
    });
}
