//! DID resolution for lexicon authorities (atproto spec "DID"): `did:plc` through a PLC
//! directory, `did:web` through `https://<host>/.well-known/did.json`; from the document, the
//! `#atproto` verification method (the repository signing key) and the `#atproto_pds` service.

use crate::error::{FetchReason, LexiconError};
use crate::key::{AtprotoKey, Curve};
use atauth_fetch::SafeFetcher;
use atauth_protocol::identity::{host_for_did_web, is_valid_did};
use serde_json::Value;
use url::Url;

/// Media types a DID document may be served as.
const DID_DOCUMENT_TYPES: &[&str] = &[
    "application/json",
    "application/did+json",
    "application/did+ld+json",
];

/// What lexicon resolution needs from a DID document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AtprotoIdentity {
    pub signing_key: AtprotoKey,
    /// The PDS endpoint (an origin URL).
    pub pds: Url,
}

/// Resolves `did` (plc or web) and extracts its signing key and PDS.
pub async fn resolve(
    fetcher: &SafeFetcher,
    plc_directory: &Url,
    did: &str,
) -> Result<AtprotoIdentity, LexiconError> {
    let url = document_url(plc_directory, did)?;
    let body = fetcher
        .get_bytes(url.as_str(), DID_DOCUMENT_TYPES)
        .await
        .map_err(|e| LexiconError::DidDocumentUnavailable {
            did: did.to_owned(),
            reason: FetchReason::from(&e),
        })?;
    let doc: Value = serde_json::from_slice(&body).map_err(|_| invalid(did, "not JSON"))?;
    parse_document(did, &doc)
}

/// Where the document of `did` is published.
fn document_url(plc_directory: &Url, did: &str) -> Result<Url, LexiconError> {
    let unsupported = || LexiconError::UnsupportedDidMethod {
        did: did.to_owned(),
    };
    if !is_valid_did(did) {
        return Err(unsupported());
    }
    if let Some(id) = did.strip_prefix("did:plc:") {
        // did:plc identifiers are 24 characters of base32 (lower case, digits 2-7).
        let valid = id.len() == 24
            && id
                .bytes()
                .all(|b| b.is_ascii_lowercase() || (b'2'..=b'7').contains(&b));
        if !valid {
            return Err(unsupported());
        }
        // Not `Url::join`: `did:plc:...` would parse as an absolute URL of scheme `did`.
        let base = plc_directory.as_str().trim_end_matches('/');
        return Url::parse(&format!("{base}/{did}")).map_err(|_| unsupported());
    }
    if did.starts_with("did:web:") {
        let (host, port) = host_for_did_web(did).ok_or_else(unsupported)?;
        let authority = match port {
            Some(port) => format!("{host}:{port}"),
            None => host,
        };
        return Url::parse(&format!("https://{authority}/.well-known/did.json"))
            .map_err(|_| unsupported());
    }
    Err(unsupported())
}

fn invalid(did: &str, reason: &'static str) -> LexiconError {
    LexiconError::InvalidDidDocument {
        did: did.to_owned(),
        reason,
    }
}

/// Whether a DID-document `id` (absolute or relative) names the fragment `fragment` of `did`.
fn is_fragment(id: Option<&Value>, did: &str, fragment: &str) -> bool {
    match id.and_then(Value::as_str) {
        Some(id) => {
            id.strip_prefix('#') == Some(fragment)
                || id.strip_prefix(did).and_then(|rest| rest.strip_prefix('#')) == Some(fragment)
        }
        None => false,
    }
}

/// The signing key and PDS of a DID document, after checking that it is the document of `did`.
pub fn parse_document(did: &str, doc: &Value) -> Result<AtprotoIdentity, LexiconError> {
    if doc.get("id").and_then(Value::as_str) != Some(did) {
        return Err(invalid(did, "its id is another DID"));
    }
    let no_key = || LexiconError::NoSigningKey {
        did: did.to_owned(),
    };
    let method = doc
        .get("verificationMethod")
        .and_then(Value::as_array)
        .and_then(|methods| {
            methods
                .iter()
                .find(|m| is_fragment(m.get("id"), did, "atproto"))
        })
        .ok_or_else(no_key)?;
    let multibase = method
        .get("publicKeyMultibase")
        .and_then(Value::as_str)
        .ok_or_else(no_key)?;
    let signing_key = match method.get("type").and_then(Value::as_str) {
        Some("Multikey") => AtprotoKey::from_multikey(multibase),
        Some("EcdsaSecp256r1VerificationKey2019") => {
            AtprotoKey::from_legacy(Curve::P256, multibase)
        }
        Some("EcdsaSecp256k1VerificationKey2019") => {
            AtprotoKey::from_legacy(Curve::K256, multibase)
        }
        _ => None,
    }
    .ok_or_else(no_key)?;

    let no_pds = || LexiconError::NoPds {
        did: did.to_owned(),
    };
    let service = doc
        .get("service")
        .and_then(Value::as_array)
        .and_then(|services| {
            services
                .iter()
                .find(|s| is_fragment(s.get("id"), did, "atproto_pds"))
        })
        .ok_or_else(no_pds)?;
    if service.get("type").and_then(Value::as_str) != Some("AtprotoPersonalDataServer") {
        return Err(no_pds());
    }
    let pds = service
        .get("serviceEndpoint")
        .and_then(Value::as_str)
        .and_then(|s| Url::parse(s).ok())
        .filter(|u| matches!(u.scheme(), "https" | "http") && u.host().is_some())
        .ok_or_else(no_pds)?;
    Ok(AtprotoIdentity { signing_key, pds })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const DID: &str = "did:plc:ewvi7nxzyoun6zhxrhs64oiz";
    const KEY: &str = "zQ3shqwJEJyMBsBXCWyCBpUBMqxcon9oHB7mCvx4sSpMdLJwc";

    fn doc() -> Value {
        json!({
            "id": DID,
            "verificationMethod": [
                {"id": "#other", "type": "Multikey", "publicKeyMultibase": "zX"},
                {"id": format!("{DID}#atproto"), "type": "Multikey", "controller": DID, "publicKeyMultibase": KEY}
            ],
            "service": [{"id": "#atproto_pds", "type": "AtprotoPersonalDataServer", "serviceEndpoint": "https://pds.example"}]
        })
    }

    #[test]
    fn extracts_key_and_pds() {
        let identity = parse_document(DID, &doc()).unwrap();
        assert_eq!(identity.pds.as_str(), "https://pds.example/");
        assert_eq!(identity.signing_key.curve, Curve::K256);
    }

    #[test]
    fn refuses_incomplete_documents() {
        let mut d = doc();
        d["id"] = json!("did:plc:aaaaaaaaaaaaaaaaaaaaaaaa");
        assert!(matches!(
            parse_document(DID, &d),
            Err(LexiconError::InvalidDidDocument { .. })
        ));
        let mut d = doc();
        d["verificationMethod"][1]["id"] = json!("#atproto2");
        assert!(matches!(
            parse_document(DID, &d),
            Err(LexiconError::NoSigningKey { .. })
        ));
        let mut d = doc();
        d["service"][0]["type"] = json!("Other");
        assert!(matches!(
            parse_document(DID, &d),
            Err(LexiconError::NoPds { .. })
        ));
        let mut d = doc();
        d["service"][0]["serviceEndpoint"] = json!("not a url");
        assert!(matches!(
            parse_document(DID, &d),
            Err(LexiconError::NoPds { .. })
        ));
    }

    #[test]
    fn document_urls() {
        let plc = Url::parse("https://plc.directory").unwrap();
        assert_eq!(
            document_url(&plc, DID).unwrap().as_str(),
            "https://plc.directory/did:plc:ewvi7nxzyoun6zhxrhs64oiz"
        );
        assert_eq!(
            document_url(&plc, "did:web:lex.example.com")
                .unwrap()
                .as_str(),
            "https://lex.example.com/.well-known/did.json"
        );
        assert_eq!(
            document_url(&plc, "did:web:localhost%3A8443")
                .unwrap()
                .as_str(),
            "https://localhost:8443/.well-known/did.json"
        );
        for bad in [
            "did:plc:short",
            "did:key:zQ3sh",
            "did:web:a.example:path",
            "did:plc:../../x1234567890123456789",
        ] {
            assert!(
                matches!(
                    document_url(&plc, bad),
                    Err(LexiconError::UnsupportedDidMethod { .. })
                ),
                "{bad}"
            );
        }
    }
}
