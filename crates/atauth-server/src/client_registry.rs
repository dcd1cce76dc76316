//! Resolving and authenticating clients: loopback clients are synthesised, discoverable ones are
//! fetched through the SSRF-safe fetcher and validated by the protocol core.

use crate::error::ApiError;
use crate::tenant::TenantContext;
use atauth_fetch::SafeFetcher;
use atauth_protocol::client::{self, ClientIdKind, ClientMetadata, ClientPolicy};
use atauth_protocol::client_auth::{self, AssertionContext, CLIENT_ASSERTION_TYPE};
use atauth_protocol::jose::JwkSet;
use atauth_protocol::params::Params;
use atauth_protocol::OAuthError;
use std::sync::Arc;

pub struct ClientRegistry {
    fetcher: Arc<SafeFetcher>,
    policy: ClientPolicy,
}

/// How a client proved who it is at this request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientAuth {
    /// Public client (`token_endpoint_auth_method: none`).
    Public,
    /// `private_key_jwt`: the thumbprint of the client key that signed the assertion.
    PrivateKeyJwt { key_thumbprint: String },
}

impl ClientAuth {
    pub fn key_thumbprint(&self) -> Option<&str> {
        match self {
            Self::Public => None,
            Self::PrivateKeyJwt { key_thumbprint } => Some(key_thumbprint),
        }
    }
}

/// Namespace of client assertion `jti`s in the single-use store.
const ASSERTION_JTI_NAMESPACE: &str = "client_assertion";

impl ClientRegistry {
    pub fn new(fetcher: Arc<SafeFetcher>, dev: bool) -> Self {
        Self {
            fetcher,
            policy: ClientPolicy { dev },
        }
    }

    /// The validated metadata of `client_id`.
    pub async fn resolve(&self, client_id: &str) -> Result<ClientMetadata, OAuthError> {
        match client::classify_client_id(client_id, self.policy)? {
            ClientIdKind::Loopback => client::loopback_client_metadata(client_id),
            ClientIdKind::Discoverable { metadata_url } => {
                let document = self.fetcher.get_json(&metadata_url).await.map_err(|e| {
                    OAuthError::invalid_client_metadata(format!(
                        "Client metadata could not be loaded: {e}"
                    ))
                })?;
                client::validate_client_metadata(client_id, &document, self.policy)
            }
        }
    }

    async fn client_keys(&self, client: &ClientMetadata) -> Result<JwkSet, OAuthError> {
        let keys = match (&client.jwks, &client.jwks_uri) {
            (Some(jwks), _) => JwkSet::from_json(jwks),
            (None, Some(uri)) => {
                let document = self.fetcher.get_json(uri).await.map_err(|e| {
                    OAuthError::invalid_client(format!("Client JWKS could not be loaded: {e}"))
                })?;
                JwkSet::from_json(&document)
            }
            (None, None) => return Err(OAuthError::invalid_client("Client has no keys")),
        };
        keys.map_err(|e| OAuthError::invalid_client(format!("Client JWKS is invalid: {e}")))
    }

    /// Authenticates the client as its metadata demands. The caller must already have checked
    /// the DPoP nonce: a client resending the same assertion after a `use_dpop_nonce` retry must
    /// not find its `jti` burned.
    pub async fn authenticate(
        &self,
        tenant: &TenantContext,
        client: &ClientMetadata,
        params: &Params,
        now: i64,
    ) -> Result<ClientAuth, ApiError> {
        let assertion_type = params.get("client_assertion_type");
        let assertion = params.get("client_assertion");
        if params.contains("client_secret") {
            return Err(OAuthError::invalid_client("Client secrets are not supported").into());
        }
        if !client.is_confidential() {
            if assertion.is_some() || assertion_type.is_some() {
                return Err(OAuthError::invalid_client(
                    "This client is registered as public (token_endpoint_auth_method none) and must not send a client assertion",
                ).into());
            }
            return Ok(ClientAuth::Public);
        }
        let (Some(assertion_type), Some(assertion)) = (assertion_type, assertion) else {
            return Err(OAuthError::invalid_request(
                "This client must authenticate with private_key_jwt (client_assertion and client_assertion_type)",
            ).into());
        };
        if assertion_type != CLIENT_ASSERTION_TYPE {
            return Err(OAuthError::invalid_client(format!(
                "Unsupported client_assertion_type; expected {CLIENT_ASSERTION_TYPE}"
            ))
            .into());
        }
        let keys = self.client_keys(client).await?;
        let verified = client_auth::verify_client_assertion(
            assertion,
            &keys,
            &AssertionContext {
                client_id: &client.client_id,
                issuer: tenant.issuer(),
                now,
            },
        )?;
        let replay_key = format!("{}:{}", client.client_id, verified.jti);
        let first_use = tenant
            .replay
            .record_once(
                ASSERTION_JTI_NAMESPACE,
                &replay_key,
                verified.jti_expires_at,
                now,
            )
            .await?;
        if !first_use {
            return Err(OAuthError::invalid_client(
                "Client assertion was already used (jti replay)",
            )
            .into());
        }
        Ok(ClientAuth::PrivateKeyJwt {
            key_thumbprint: verified.key_thumbprint,
        })
    }
}
