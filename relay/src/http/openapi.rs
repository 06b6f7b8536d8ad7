//! The API as an OpenAPI document, generated from the handlers' `#[utoipa::path]`
//! annotations and the wire types of `relay-api`; served at `GET /openapi.json`.

use axum::Json;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, SecurityScheme};
use utoipa::{Modify, OpenApi};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Tessera relay",
        description = "Stores what the chain cannot hold: task arguments, result files and model files. \
Every answer can be checked against the chain. Errors are `{\"error\": {\"code\", \"message\"}}`.",
    ),
    paths(
        super::health,
        super::metrics,
        super::tasks::put_args,
        super::tasks::get_args,
        super::tasks::post_results,
        super::tasks::list_results,
        super::tasks::get_result_file,
        super::progress::put,
        super::progress::get,
        super::models::list,
        super::models::put_file,
        super::models::get_blob,
    ),
    modifiers(&SignedRequests),
    tags(
        (name = "tasks", description = "A task's arguments, results and progress"),
        (name = "models", description = "Model files by name and by content hash"),
        (name = "operations", description = "Health and metrics"),
    )
)]
struct ApiDoc;

/// The signed-request scheme of `relay_api::auth`, named `tessera_request`.
struct SignedRequests;

impl Modify for SignedRequests {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "tessera_request",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                relay_api::auth::SIGNATURE_HEADER,
                "An EIP-712 signature of a `RelayRequest {action, relay, method, path, bodySha256, \
timestamp, nonce}` in the domain `{name: \"Tessera relay\", version: \"1\", chainId}`, sent with \
`x-tessera-address`, `x-tessera-relay`, `x-tessera-timestamp`, `x-tessera-nonce` and \
`x-tessera-body-sha256` (see the `relay-api` crate's `auth` module).",
            ))),
        );
    }
}

/// The document.
pub fn document() -> utoipa::openapi::OpenApi {
    ApiDoc::openapi()
}

/// `GET /openapi.json`.
pub(super) async fn serve() -> Json<utoipa::openapi::OpenApi> {
    Json(document())
}
