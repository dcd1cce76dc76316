//! Handle and DID syntax (atproto specs "Handle" and "DID"), hosted did:web identifiers.
//!
//! HELPER-OWNED: signatures below are the contract.

pub fn is_valid_handle(_handle: &str) -> bool {
    todo!()
}

pub fn is_valid_did(_did: &str) -> bool {
    todo!()
}

/// `did:web` for a handle host with an optional non-default port (`%3A`-encoded per the
/// did:web spec), e.g. `alice.coop.example` -> `did:web:alice.coop.example`,
/// (`localhost`, 8443) -> `did:web:localhost%3A8443`.
pub fn did_web_for_host(_host: &str, _port: Option<u16>) -> String {
    todo!()
}

/// The inverse: the host (and port) a hosted `did:web` is served from.
pub fn host_for_did_web(_did: &str) -> Option<(String, Option<u16>)> {
    todo!()
}
