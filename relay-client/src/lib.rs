//! A client for the relay's HTTP API, natively and in a browser.
//!
//! Nodes, the requester CLI and the web app talk to the relay through [`RelayClient`], which
//! signs requests with [`relay_api::auth`]'s rules through any [`RequestSigner`]: a local key
//! (`alloy`'s `PrivateKeySigner`) or a browser wallet's `eth_signTypedData_v4`.
//!
//! The client trusts nothing the relay says about integrity: it returns bytes, and callers
//! check them against the chain (task hash, revealed score) or a content hash. [`fetch_blob`]
//! checks a model file's SHA-256 itself when it downloads the whole file.
//!
//! [`fetch_blob`]: RelayClient::fetch_blob

use std::future::Future;

use alloy_primitives::{Address, B256, Signature, U256};
use reqwest::{Method, StatusCode, header};
use serde::de::DeserializeOwned;

pub use relay_api::auth::RequestToSign;
use relay_api::auth::{self, Nonce};
use relay_api::{
    ArgsReceipt, ErrorBody, Health, ModelList, ModelListing, ResultsView, StepReport, TaskProgress,
};

/// Why a relay request could not be signed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignError {
    /// The user refused in the wallet (EIP-1193 code 4001).
    #[error("rejected in the wallet")]
    Rejected,
    /// The wallet or key failed otherwise.
    #[error("{0}")]
    Failed(String),
}

/// Signs a relay request's EIP-712 typed data (see [`relay_api::auth`]).
///
/// The future need not be `Send`: in a browser it awaits the wallet.
pub trait RequestSigner {
    /// The address whose key signs.
    fn address(&self) -> Address;
    /// Signs `request`: a key signs [`RequestToSign::signing_hash`], a wallet
    /// [`RequestToSign::typed_data_json`] with `eth_signTypedData_v4`.
    fn sign_request(
        &self,
        request: &RequestToSign<'_>,
    ) -> impl Future<Output = Result<Signature, SignError>>;
}

impl RequestSigner for alloy_signer_local::PrivateKeySigner {
    fn address(&self) -> Address {
        alloy_signer::Signer::address(self)
    }

    fn sign_request(
        &self,
        request: &RequestToSign<'_>,
    ) -> impl Future<Output = Result<Signature, SignError>> {
        let signed = alloy_signer::SignerSync::sign_hash_sync(self, &request.signing_hash())
            .map_err(|e| SignError::Failed(e.to_string()));
        std::future::ready(signed)
    }
}

/// Why a relay request failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The base URL does not parse.
    #[error("relay URL `{url}` is invalid: {reason}")]
    BadUrl {
        /// The URL.
        url: String,
        /// Why.
        reason: String,
    },
    /// The request did not get an answer (connection refused, reset, timeout).
    #[error("relay at {url} did not answer: {reason}")]
    Unreachable {
        /// The request URL.
        url: String,
        /// The transport's error.
        reason: String,
    },
    /// The relay answered with a documented error.
    #[error("relay refused {method} {path} ({status}, {code}): {message}")]
    Refused {
        /// The request method.
        method: String,
        /// The request path.
        path: String,
        /// The HTTP status.
        status: u16,
        /// The relay's stable error code.
        code: String,
        /// The relay's message.
        message: String,
    },
    /// The relay answered something that is not the documented API.
    #[error("relay answered {method} {path} with {status} and an unexpected body: {reason}")]
    Protocol {
        /// The request method.
        method: String,
        /// The request path.
        path: String,
        /// The HTTP status.
        status: u16,
        /// What is wrong with the body.
        reason: String,
    },
    /// The signer refused or failed (a wallet said no, a key is unusable).
    #[error("signing the relay request failed: {0}")]
    Sign(#[from] SignError),
    /// A downloaded file does not hash to what it was asked for.
    #[error("blob {expected} from the relay hashes to {actual}")]
    HashMismatch {
        /// The requested SHA-256.
        expected: B256,
        /// What the bytes hash to.
        actual: B256,
    },
}

impl ClientError {
    /// The relay's stable error code, when it answered with one.
    pub fn code(&self) -> Option<&str> {
        match self {
            Self::Refused { code, .. } => Some(code),
            _ => None,
        }
    }

    /// The HTTP status, when the relay answered.
    pub fn status(&self) -> Option<u16> {
        match self {
            Self::Refused { status, .. } | Self::Protocol { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// Whether trying again later may succeed: the relay was unreachable or failed on its
    /// side, or it has not yet seen on chain what the caller already has (a task it does
    /// not know yet, arguments or results not uploaded yet, a reveal it has not applied).
    pub fn is_transient(&self) -> bool {
        match self {
            Self::Unreachable { .. } => true,
            Self::Refused { status, code, .. } => {
                *status >= 500
                    || *status == 429
                    || matches!(
                        code.as_str(),
                        "unknown_task" | "no_args" | "no_results" | "not_revealed"
                    )
            }
            Self::Protocol { status, .. } => *status >= 500,
            _ => false,
        }
    }
}

/// A relay's HTTP API.
#[derive(Debug, Clone)]
pub struct RelayClient {
    base: reqwest::Url,
    chain_id: u64,
    http: reqwest::Client,
}

/// A model file download in progress: pull its bytes with [`BlobDownload::chunk`].
pub struct BlobDownload {
    /// Offset of the first byte this download returns (the asked offset, or 0 when the
    /// relay sent the whole file instead of a range).
    pub start: u64,
    /// The file's total size.
    pub total: u64,
    /// `None` once a wasm32 download handed out its whole body.
    response: Option<reqwest::Response>,
    url: String,
}

impl BlobDownload {
    /// The next piece of the file, or `None` at its end.
    pub async fn chunk(&mut self) -> Result<Option<bytes::Bytes>, ClientError> {
        let unreachable = |e: reqwest::Error| ClientError::Unreachable {
            url: self.url.clone(),
            reason: e.to_string(),
        };
        #[cfg(not(target_arch = "wasm32"))]
        {
            match self.response.as_mut() {
                Some(response) => response.chunk().await.map_err(unreachable),
                None => Ok(None),
            }
        }
        // reqwest's browser `Response` has no `chunk`: the first call returns the whole body.
        #[cfg(target_arch = "wasm32")]
        {
            match self.response.take() {
                Some(response) => response.bytes().await.map(Some).map_err(unreachable),
                None => Ok(None),
            }
        }
    }
}

impl RelayClient {
    /// A client for the relay at `base_url` (e.g. `http://127.0.0.1:8600`), which follows
    /// the chain `chain_id` (signed into every request).
    pub fn new(base_url: &str, chain_id: u64) -> Result<Self, ClientError> {
        let bad = |reason: String| ClientError::BadUrl {
            url: base_url.to_owned(),
            reason,
        };
        let mut base = reqwest::Url::parse(base_url).map_err(|e| bad(e.to_string()))?;
        if !matches!(base.scheme(), "http" | "https") {
            return Err(bad("the scheme must be http or https".into()));
        }
        if !base.path().ends_with('/') {
            let path = format!("{}/", base.path());
            base.set_path(&path);
        }
        Ok(Self {
            base,
            chain_id,
            http: reqwest::Client::new(),
        })
    }

    /// The relay's base URL.
    pub fn base_url(&self) -> &str {
        self.base.as_str()
    }

    /// `GET /health`.
    pub async fn health(&self) -> Result<Health, ClientError> {
        let response = self.send(Method::GET, "health", None, Vec::new()).await?;
        json(response).await
    }

    /// `GET /v1/models`: every model the relay holds, with its files' hashes.
    pub async fn models(&self) -> Result<Vec<ModelListing>, ClientError> {
        let response = self
            .send(Method::GET, "v1/models", None, Vec::new())
            .await?;
        Ok(json::<ModelList>(response).await?.models)
    }

    /// `PUT /v1/tasks/{id}/args`: the creator stores the task's arguments, and chooses
    /// once whether anyone may read its results (`private: false`) or only its creator
    /// and selected nodes.
    pub async fn put_args(
        &self,
        signer: &impl RequestSigner,
        task: U256,
        args: &[u8],
        private: bool,
    ) -> Result<ArgsReceipt, ClientError> {
        let visibility = if private { "private" } else { "public" };
        let path = format!("v1/tasks/{task}/args?visibility={visibility}");
        let headers = self
            .sign(signer, &Method::PUT, &path, auth::body_sha256(args))
            .await?;
        let response = self
            .send(Method::PUT, &path, Some(headers), args.to_vec())
            .await?;
        json(response).await
    }

    /// `GET /v1/tasks/{id}/args`: the creator or a selected node reads the arguments.
    /// Check them against the task's on-chain hash before use.
    pub async fn get_args(
        &self,
        signer: &impl RequestSigner,
        task: U256,
    ) -> Result<Vec<u8>, ClientError> {
        self.signed_get(signer, &format!("v1/tasks/{task}/args"))
            .await
    }

    /// `POST /v1/tasks/{id}/results`: the designated node uploads the result files, in
    /// score order (`0.png`, `1.png`, … or `0.json`).
    pub async fn upload_results(
        &self,
        signer: &impl RequestSigner,
        task: U256,
        files: &[(String, Vec<u8>)],
    ) -> Result<ResultsView, ClientError> {
        let path = format!("v1/tasks/{task}/results");
        let (content_type, body) = multipart(files);
        let mut headers = self
            .sign(signer, &Method::POST, &path, auth::body_sha256(&body))
            .await?;
        headers.push((header::CONTENT_TYPE.as_str(), content_type));
        let response = self.send(Method::POST, &path, Some(headers), body).await?;
        json(response).await
    }

    /// `GET /v1/tasks/{id}/results`: the result files' names, hashes and sizes.
    pub async fn results(
        &self,
        signer: &impl RequestSigner,
        task: U256,
    ) -> Result<ResultsView, ClientError> {
        let path = format!("v1/tasks/{task}/results");
        let headers = self
            .sign(signer, &Method::GET, &path, auth::body_sha256(b""))
            .await?;
        let response = self
            .send(Method::GET, &path, Some(headers), Vec::new())
            .await?;
        json(response).await
    }

    /// `GET /v1/tasks/{id}/results` unsigned: a public task's results, for anyone.
    pub async fn public_results(&self, task: U256) -> Result<ResultsView, ClientError> {
        let path = format!("v1/tasks/{task}/results");
        json(self.send(Method::GET, &path, None, Vec::new()).await?).await
    }

    /// `GET /v1/tasks/{id}/results/{name}` unsigned: one file of a public task's results.
    pub async fn public_result_file(&self, task: U256, name: &str) -> Result<Vec<u8>, ClientError> {
        let path = format!("v1/tasks/{task}/results/{name}");
        body_bytes(self.send(Method::GET, &path, None, Vec::new()).await?).await
    }

    /// `PUT /v1/tasks/{id}/progress`: a selected node reports `step` of `steps` done.
    pub async fn put_progress(
        &self,
        signer: &impl RequestSigner,
        task: U256,
        step: u32,
        steps: u32,
    ) -> Result<(), ClientError> {
        let path = format!("v1/tasks/{task}/progress");
        let body = serde_json::to_vec(&StepReport { step, steps }).expect("plain data");
        let headers = self
            .sign(signer, &Method::PUT, &path, auth::body_sha256(&body))
            .await?;
        self.send(Method::PUT, &path, Some(headers), body).await?;
        Ok(())
    }

    /// `GET /v1/tasks/{id}/progress`: what each selected node last said of its progress (a
    /// node's word, not checked by anyone).
    pub async fn progress(&self, task: U256) -> Result<TaskProgress, ClientError> {
        let path = format!("v1/tasks/{task}/progress");
        json(self.send(Method::GET, &path, None, Vec::new()).await?).await
    }

    /// `GET /v1/tasks/{id}/results/{name}`: one result file's bytes.
    pub async fn result_file(
        &self,
        signer: &impl RequestSigner,
        task: U256,
        name: &str,
    ) -> Result<Vec<u8>, ClientError> {
        self.signed_get(signer, &format!("v1/tasks/{task}/results/{name}"))
            .await
    }

    /// `GET /v1/blobs/{sha256}` from byte `offset` on (a `Range` request when `offset > 0`,
    /// so an interrupted download resumes). The caller hashes what it receives; see
    /// [`RelayClient::blob`] for a whole small file checked here.
    pub async fn fetch_blob(&self, sha256: B256, offset: u64) -> Result<BlobDownload, ClientError> {
        let path = format!("v1/blobs/{}", hex::encode(sha256));
        let mut headers = Vec::new();
        if offset > 0 {
            headers.push((header::RANGE.as_str(), format!("bytes={offset}-")));
        }
        let url = self.url(&path)?;
        let response = self
            .send(Method::GET, &path, Some(headers), Vec::new())
            .await?;
        let (start, total) = match response.status() {
            StatusCode::PARTIAL_CONTENT => {
                let range = response
                    .headers()
                    .get(header::CONTENT_RANGE)
                    .and_then(|v| v.to_str().ok())
                    .and_then(parse_content_range);
                range.ok_or_else(|| ClientError::Protocol {
                    method: "GET".into(),
                    path: path.clone(),
                    status: 206,
                    reason: "no usable Content-Range header".into(),
                })?
            }
            _ => (0, response.content_length().unwrap_or(0)),
        };
        Ok(BlobDownload {
            start,
            total,
            response: Some(response),
            url: url.to_string(),
        })
    }

    /// A whole blob, checked against its SHA-256.
    pub async fn blob(&self, sha256: B256) -> Result<Vec<u8>, ClientError> {
        let mut download = self.fetch_blob(sha256, 0).await?;
        let mut bytes = Vec::with_capacity(download.total as usize);
        while let Some(chunk) = download.chunk().await? {
            bytes.extend_from_slice(&chunk);
        }
        let actual = B256::from(verifier::digest::sha256(&bytes));
        if actual != sha256 {
            return Err(ClientError::HashMismatch {
                expected: sha256,
                actual,
            });
        }
        Ok(bytes)
    }

    async fn signed_get(
        &self,
        signer: &impl RequestSigner,
        path: &str,
    ) -> Result<Vec<u8>, ClientError> {
        let headers = self
            .sign(signer, &Method::GET, path, auth::body_sha256(b""))
            .await?;
        let response = self
            .send(Method::GET, path, Some(headers), Vec::new())
            .await?;
        body_bytes(response).await
    }

    fn url(&self, path: &str) -> Result<reqwest::Url, ClientError> {
        self.base.join(path).map_err(|e| ClientError::BadUrl {
            url: format!("{}{path}", self.base),
            reason: e.to_string(),
        })
    }

    /// The authentication headers for a request to `path` (relative to the base).
    async fn sign(
        &self,
        signer: &impl RequestSigner,
        method: &Method,
        path: &str,
        body_sha256: B256,
    ) -> Result<Vec<(&'static str, String)>, ClientError> {
        let url = self.url(path)?;
        let target = match url.query() {
            Some(query) => format!("{}?{query}", url.path()),
            None => url.path().to_owned(),
        };
        let nonce = Nonce::from_bytes(&B256::random().0[..16])
            .map_err(|e| ClientError::Sign(SignError::Failed(e.to_string())))?;
        let timestamp = unix_now();
        let relay = auth::origin(self.base.as_str())
            .map_err(|e| ClientError::Sign(SignError::Failed(e.to_string())))?;
        let request = RequestToSign {
            chain_id: self.chain_id,
            relay: &relay,
            method: method.as_str(),
            path: &target,
            body_sha256,
            timestamp,
            nonce: &nonce,
        };
        let signature = signer
            .sign_request(&request)
            .await
            .map_err(ClientError::Sign)?;
        Ok(vec![
            (auth::ADDRESS_HEADER, signer.address().to_string()),
            (auth::RELAY_HEADER, relay.clone()),
            (auth::BODY_SHA256_HEADER, format!("{body_sha256:#x}")),
            (auth::TIMESTAMP_HEADER, timestamp.to_string()),
            (auth::NONCE_HEADER, nonce.to_string()),
            (
                auth::SIGNATURE_HEADER,
                format!("0x{}", hex::encode(signature.as_bytes())),
            ),
        ])
    }

    /// Sends a request and turns any non-success answer into a [`ClientError`].
    async fn send(
        &self,
        method: Method,
        path: &str,
        headers: Option<Vec<(&'static str, String)>>,
        body: Vec<u8>,
    ) -> Result<reqwest::Response, ClientError> {
        let url = self.url(path)?;
        let mut request = self.http.request(method.clone(), url.clone());
        for (name, value) in headers.unwrap_or_default() {
            request = request.header(name, value);
        }
        if !body.is_empty() || method == Method::PUT || method == Method::POST {
            request = request.body(body);
        }
        let response = request.send().await.map_err(|e| ClientError::Unreachable {
            url: url.to_string(),
            reason: e.to_string(),
        })?;
        let status = response.status();
        if status.is_success() {
            return Ok(response);
        }
        let text = response.text().await.unwrap_or_default();
        Err(match serde_json::from_str::<ErrorBody>(&text) {
            Ok(body) => ClientError::Refused {
                method: method.to_string(),
                path: format!("/{path}"),
                status: status.as_u16(),
                code: body.error.code,
                message: body.error.message,
            },
            Err(_) => ClientError::Protocol {
                method: method.to_string(),
                path: format!("/{path}"),
                status: status.as_u16(),
                reason: text.chars().take(200).collect(),
            },
        })
    }
}

/// Reads a JSON answer.
async fn json<T: DeserializeOwned>(response: reqwest::Response) -> Result<T, ClientError> {
    let status = response.status().as_u16();
    let path = response.url().path().to_owned();
    let bytes = body_bytes(response).await?;
    serde_json::from_slice(&bytes).map_err(|e| ClientError::Protocol {
        method: "-".into(),
        path,
        status,
        reason: e.to_string(),
    })
}

/// A whole answer's body.
async fn body_bytes(response: reqwest::Response) -> Result<Vec<u8>, ClientError> {
    let url = response.url().to_string();
    let bytes = response
        .bytes()
        .await
        .map_err(|e| ClientError::Unreachable {
            url,
            reason: e.to_string(),
        })?;
    Ok(bytes.to_vec())
}

/// A `multipart/form-data` body with one file part per `(name, bytes)`, as the results
/// endpoint expects. Built here (not by the HTTP library) because the signature covers the
/// body's exact bytes.
pub fn multipart(files: &[(String, Vec<u8>)]) -> (String, Vec<u8>) {
    // A boundary that cannot occur in the parts: derived from their hash, retried on the
    // (astronomically unlikely) collision.
    let mut digest = verifier::digest::Sha256Stream::new();
    for (name, bytes) in files {
        digest.update(name.as_bytes());
        digest.update(bytes);
    }
    let mut boundary = format!("tessera-{}", hex::encode(&digest.finish()[..12]));
    while files
        .iter()
        .any(|(_, bytes)| contains(bytes, boundary.as_bytes()))
    {
        boundary.push('x');
    }
    let mut body = Vec::with_capacity(files.iter().map(|(_, b)| b.len() + 200).sum());
    for (name, bytes) in files {
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; \
                 filename=\"{name}\"\r\nContent-Type: application/octet-stream\r\n\r\n"
            )
            .as_bytes(),
        );
        body.extend_from_slice(bytes);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// `bytes START-END/TOTAL` → `(START, TOTAL)`.
fn parse_content_range(value: &str) -> Option<(u64, u64)> {
    let rest = value.strip_prefix("bytes ")?;
    let (range, total) = rest.split_once('/')?;
    let (start, _) = range.split_once('-')?;
    Some((start.parse().ok()?, total.parse().ok()?))
}

fn unix_now() -> u64 {
    web_time::SystemTime::now()
        .duration_since(web_time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_range_parses() {
        assert_eq!(parse_content_range("bytes 100-199/1000"), Some((100, 1000)));
        assert_eq!(parse_content_range("bytes */1000"), None);
        assert_eq!(parse_content_range("items 1-2/3"), None);
    }

    #[test]
    fn multipart_boundary_avoids_the_content() {
        let files = vec![("0.png".to_owned(), b"abc".to_vec())];
        let (content_type, body) = multipart(&files);
        let boundary = content_type.rsplit('=').next().unwrap().to_owned();
        // A file containing the first boundary gets another one.
        let tricky = vec![("0.png".to_owned(), format!("--{boundary}").into_bytes())];
        let (other, _) = multipart(&tricky);
        assert_ne!(other, content_type);
        let text = String::from_utf8(body).unwrap();
        assert!(text.contains("filename=\"0.png\""), "{text}");
        assert!(text.ends_with(&format!("--{boundary}--\r\n")), "{text}");
    }

    #[test]
    fn base_urls_are_checked_and_normalized() {
        assert!(RelayClient::new("ftp://x", 1).is_err());
        assert!(RelayClient::new("not a url", 1).is_err());
        let client = RelayClient::new("http://127.0.0.1:8600/relay", 1).unwrap();
        assert_eq!(
            client.url("v1/models").unwrap().as_str(),
            "http://127.0.0.1:8600/relay/v1/models"
        );
    }

    #[test]
    fn transient_errors_are_told_apart() {
        let refused = |status: u16, code: &str| ClientError::Refused {
            method: "GET".into(),
            path: "/".into(),
            status,
            code: code.into(),
            message: String::new(),
        };
        assert!(refused(404, "unknown_task").is_transient());
        assert!(refused(503, "internal").is_transient());
        assert!(!refused(422, "score_mismatch").is_transient());
        assert!(!refused(403, "forbidden").is_transient());
    }
}
