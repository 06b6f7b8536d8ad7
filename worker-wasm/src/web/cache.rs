//! Model files in the browser's Cache API (cache `tessera-models-v1`), content-addressed:
//! each file is stored under its SHA-256, so a file shared by two models or two versions
//! is fetched once, and a file is always checked against its hash when read back.

use alloy::primitives::B256;
use js_sys::{Array, Object, Reflect, Uint8Array};
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use web_sys::{Cache, Request, Response, ResponseInit};

use super::js;

const NAME: &str = "tessera-models-v1";
const SIZE_HEADER: &str = "x-tessera-size";

/// Why the cache failed.
#[derive(Debug, thiserror::Error)]
pub(super) enum CacheError {
    /// The browser refused to store more for this site.
    #[error(
        "the browser's storage for this site is full ({0}): clear the model cache on the \
         Provide page or free space, then try again"
    )]
    Quota(String),
    /// Anything else.
    #[error("model cache: {0}")]
    Other(String),
}

fn other(error: JsValue) -> CacheError {
    CacheError::Other(js::error_text(&error))
}

/// The open model cache.
pub(super) struct ModelCache(Cache);

fn key(sha256: B256) -> String {
    format!("/tessera-model-cache/{}", verifier::hex::encode(sha256))
}

/// The cached files and their bytes.
pub(super) struct Stats {
    /// Files.
    pub files: u32,
    /// Bytes.
    pub bytes: f64,
}

impl ModelCache {
    /// Opens the cache.
    pub(super) async fn open() -> Result<Self, CacheError> {
        let storage = js::scope()
            .map_err(CacheError::Other)?
            .caches()
            .map_err(|e| {
                CacheError::Other(format!(
                    "the Cache API is not available (it needs https or localhost): {}",
                    js::error_text(&e)
                ))
            })?;
        let cache = js::wait(storage.open(NAME)).await.map_err(other)?;
        Ok(Self(cache.unchecked_into()))
    }

    /// The file with hash `sha256`, as stored (the caller checks it).
    pub(super) async fn get(&self, sha256: B256) -> Result<Option<Vec<u8>>, CacheError> {
        let found = js::wait(self.0.match_with_str(&key(sha256)))
            .await
            .map_err(other)?;
        let Ok(response) = found.dyn_into::<Response>() else {
            return Ok(None);
        };
        let body = js::wait(response.array_buffer().map_err(other)?)
            .await
            .map_err(other)?;
        Ok(Some(Uint8Array::new(&body).to_vec()))
    }

    /// Stores `bytes` as the file with hash `sha256`.
    pub(super) async fn put(&self, sha256: B256, bytes: &[u8]) -> Result<(), CacheError> {
        let headers = Object::new();
        let _ = Reflect::set(
            &headers,
            &SIZE_HEADER.into(),
            &bytes.len().to_string().into(),
        );
        let init = ResponseInit::new();
        init.set_headers(&headers);
        let body: Object = Uint8Array::from(bytes).into();
        let response =
            Response::new_with_opt_buffer_source_and_init(Some(&body), &init).map_err(other)?;
        let request = Request::new_with_str(&key(sha256)).map_err(other)?;
        js::wait(self.0.put_with_request(&request, &response))
            .await
            .map(drop)
            .map_err(|e| match js::error_name(&e).as_deref() {
                Some("QuotaExceededError") => CacheError::Quota(js::error_text(&e)),
                _ => other(e),
            })
    }

    /// Forgets the file with hash `sha256`.
    pub(super) async fn delete(&self, sha256: B256) -> Result<(), CacheError> {
        js::wait(self.0.delete_with_str(&key(sha256)))
            .await
            .map(drop)
            .map_err(other)
    }

    /// How many files and bytes are cached.
    pub(super) async fn stats(&self) -> Result<Stats, CacheError> {
        let requests: Array = js::wait(self.0.keys())
            .await
            .map_err(other)?
            .unchecked_into();
        let mut stats = Stats {
            files: 0,
            bytes: 0.0,
        };
        for request in requests.iter() {
            let request: Request = request.unchecked_into();
            let found = js::wait(self.0.match_with_request(&request))
                .await
                .map_err(other)?;
            if let Ok(response) = found.dyn_into::<Response>() {
                stats.files += 1;
                stats.bytes += response
                    .headers()
                    .get(SIZE_HEADER)
                    .ok()
                    .flatten()
                    .and_then(|size| size.parse::<f64>().ok())
                    .unwrap_or(0.0);
            }
        }
        Ok(stats)
    }

    /// Deletes every cached file.
    pub(super) async fn clear() -> Result<(), CacheError> {
        let storage = js::scope()
            .map_err(CacheError::Other)?
            .caches()
            .map_err(other)?;
        js::wait(storage.delete(NAME))
            .await
            .map(drop)
            .map_err(other)
    }
}
