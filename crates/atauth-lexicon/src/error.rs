//! Resolution failures. Every `Display` is one sentence fit for an `invalid_scope`
//! `error_description`: it names the NSID or DID the client asked about and the step that
//! failed, never a response body, an internal address or a secret.

use std::fmt;

/// Why a lexicon could not be resolved.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LexiconError {
    #[error("\"{0}\" is not a valid NSID")]
    InvalidNsid(String),
    #[error("no lexicon authority is published for {nsid} (no DNS TXT record with a DID at _lexicon.{authority})")]
    NoAuthority { nsid: String, authority: String },
    #[error("the lexicon authority for {nsid} is ambiguous (more than one DNS TXT record with a DID at _lexicon.{authority})")]
    AmbiguousAuthority { nsid: String, authority: String },
    #[error("the lexicon authority for {nsid} could not be looked up in DNS")]
    DnsFailure { nsid: String },
    #[error("the lexicon authority record for {nsid} does not hold a valid DID")]
    InvalidAuthorityDid { nsid: String },
    #[error("the lexicon authority {did} uses a DID method that is not supported (did:plc and did:web are)")]
    UnsupportedDidMethod { did: String },
    #[error("the DID document of {did} could not be loaded ({reason})")]
    DidDocumentUnavailable { did: String, reason: FetchReason },
    #[error("the DID document of {did} is not valid ({reason})")]
    InvalidDidDocument { did: String, reason: &'static str },
    #[error("the DID document of {did} has no usable atproto signing key")]
    NoSigningKey { did: String },
    #[error("the DID document of {did} has no usable atproto PDS endpoint")]
    NoPds { did: String },
    #[error("the lexicon record for {nsid} could not be fetched from its repository ({reason})")]
    RecordUnavailable { nsid: String, reason: FetchReason },
    #[error("the lexicon record for {nsid} failed verification: {reason}")]
    ProofInvalid { nsid: String, reason: ProofError },
    #[error("the lexicon document for {nsid} is not valid: {reason}")]
    InvalidDocument { nsid: String, reason: &'static str },
    #[error("the lexicon for {nsid} is not available right now")]
    Unavailable { nsid: String },
    #[error("{nsid} is not a permission set")]
    NotPermissionSet { nsid: String },
}

/// Why a repository proof (`com.atproto.sync.getRecord` CAR) was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ProofError {
    #[error("the CAR file is malformed")]
    MalformedCar,
    #[error("the CAR file must have exactly one root")]
    CarRoots,
    #[error("a block does not match its content identifier")]
    BlockHashMismatch,
    #[error("a block uses an unsupported content identifier (CIDv1, dag-cbor, sha-256 expected)")]
    UnsupportedCid,
    #[error("the proof is too large")]
    TooManyBlocks,
    #[error("a block is not valid DAG-CBOR")]
    MalformedBlock,
    #[error("the commit block is missing")]
    MissingCommit,
    #[error("the commit is malformed")]
    MalformedCommit,
    #[error("the commit is not version 3")]
    CommitVersion,
    #[error("the commit belongs to another DID")]
    CommitDid,
    #[error("the commit signature is not valid")]
    BadSignature,
    #[error("the commit signature is not in low-S form")]
    HighS,
    #[error("a repository tree node is missing from the proof")]
    MissingNode,
    #[error("a repository tree node is malformed")]
    MalformedNode,
    #[error("the record is not in the repository tree")]
    RecordNotFound,
    #[error("the record block is missing from the proof")]
    MissingRecord,
    #[error("the record is not a com.atproto.lexicon.schema record")]
    RecordType,
    #[error("the record holds values that JSON cannot carry")]
    RecordNotJson,
}

/// A fetch failure reduced to what may be told to a client: what went wrong, not where or
/// how (the details are logged).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FetchReason {
    /// The URL or one of its addresses is not allowed (not https, not public).
    AddressNotAllowed,
    Unreachable,
    Timeout,
    Busy,
    Redirect,
    Status(u16),
    MediaType,
    TooLarge,
    NotJson,
}

impl fmt::Display for FetchReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::AddressNotAllowed => f.write_str("its address is not allowed"),
            Self::Unreachable => f.write_str("the server could not be reached"),
            Self::Timeout => f.write_str("the server did not answer in time"),
            Self::Busy => f.write_str("too many fetches are in progress"),
            Self::Redirect => f.write_str("the server answered with a redirect"),
            Self::Status(code) => write!(f, "the server answered HTTP {code}"),
            Self::MediaType => f.write_str("the answer has the wrong media type"),
            Self::TooLarge => f.write_str("the answer is too large"),
            Self::NotJson => f.write_str("the answer is not valid JSON"),
        }
    }
}

impl From<&atauth_fetch::FetchError> for FetchReason {
    fn from(e: &atauth_fetch::FetchError) -> Self {
        use atauth_fetch::FetchError as F;
        match e {
            F::InvalidUrl(_)
            | F::UrlTooLong(_)
            | F::SchemeNotAllowed(_)
            | F::UserInfo
            | F::Fragment
            | F::MissingHost
            | F::PortNotAllowed(_)
            | F::ForbiddenIpLiteral { .. }
            | F::ForbiddenAddress { .. } => Self::AddressNotAllowed,
            F::Timeout(_) => Self::Timeout,
            F::Busy => Self::Busy,
            F::Redirect(_) => Self::Redirect,
            F::Status(code) => Self::Status(*code),
            F::MissingContentType
            | F::ContentType(_)
            | F::MissingMediaType(_)
            | F::MediaType { .. } => Self::MediaType,
            F::TooLarge(_) => Self::TooLarge,
            F::NotJson(_) => Self::NotJson,
            _ => Self::Unreachable,
        }
    }
}
