//! The hashing web worker: receives returned files from the page and answers with their
//! network fingerprint (pHash or SHA-256) and independent similarity hash, so hashing many
//! images never blocks the page. See `app::hashing` for the messages.

#[cfg(target_arch = "wasm32")]
fn main() {
    use app::hashing::{HashReply, HashRequest, answer};
    use app::worker::Scope;

    console_error_panic_hook::set_once();
    let Some(scope) = Scope::<HashReply>::get() else {
        return;
    };
    let reply = scope.clone();
    scope.listen(move |request: Result<HashRequest, String>| match request {
        Ok(request) => reply.post(&answer(request)),
        Err(message) => reply.post(&HashReply::Unreadable { message }),
    });
    // Messages sent before this point were not heard: the page queues them until now.
    scope.post(&HashReply::Ready);
}

#[cfg(not(target_arch = "wasm32"))]
fn main() {
    eprintln!("hash_worker is a web worker: trunk builds it for wasm32 (cargo xtask app build)");
}
