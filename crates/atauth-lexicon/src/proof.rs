//! Verification of a record proof: the CAR that `com.atproto.sync.getRecord` answers (the
//! signed commit, the tree nodes on the path to the record, the record), per the atproto spec
//! "Repository" (commit objects, signatures, MST) and "Lexicon Publication and Resolution".

use crate::car::{self, decode};
use crate::error::ProofError;
use crate::key::AtprotoKey;
use crate::mst;
use base64::Engine as _;
use ipld_core::cid::Cid;
use ipld_core::ipld::Ipld;
use std::collections::BTreeMap;

/// The collection of lexicon schema records.
pub const LEXICON_COLLECTION: &str = "com.atproto.lexicon.schema";

/// A record proven to be in `did`'s repository.
#[derive(Debug, Clone, PartialEq)]
pub struct VerifiedRecord {
    pub cid: Cid,
    /// The record in the atproto JSON form (`$link`, `$bytes`).
    pub record: serde_json::Value,
}

/// Checks the proof and returns the record at `collection/rkey`:
/// every block matches its CID; the root is a version 3 commit of `did`, signed by `key`
/// (over the DAG-CBOR of the commit without `sig`); the tree under the commit's `data` holds
/// the key; the record's `$type` is `collection`.
pub fn verify_record(
    car_bytes: &[u8],
    did: &str,
    key: &AtprotoKey,
    collection: &str,
    rkey: &str,
) -> Result<VerifiedRecord, ProofError> {
    let car = car::read_car(car_bytes)?;
    let commit_bytes = car.blocks.get(&car.root).ok_or(ProofError::MissingCommit)?;
    let Ipld::Map(mut commit) = decode(commit_bytes).map_err(|_| ProofError::MalformedCommit)?
    else {
        return Err(ProofError::MalformedCommit);
    };
    match commit.get("version") {
        Some(Ipld::Integer(3)) => {}
        Some(Ipld::Integer(_)) => return Err(ProofError::CommitVersion),
        _ => return Err(ProofError::MalformedCommit),
    }
    match commit.get("did") {
        Some(Ipld::String(commit_did)) if commit_did == did => {}
        Some(Ipld::String(_)) => return Err(ProofError::CommitDid),
        _ => return Err(ProofError::MalformedCommit),
    }
    let data = match commit.get("data") {
        Some(Ipld::Link(cid)) => *cid,
        _ => return Err(ProofError::MalformedCommit),
    };
    if !matches!(commit.get("rev"), Some(Ipld::String(_))) {
        return Err(ProofError::MalformedCommit);
    }
    let Some(Ipld::Bytes(sig)) = commit.remove("sig") else {
        return Err(ProofError::MalformedCommit);
    };
    // The signed bytes are the canonical DAG-CBOR of the commit without `sig`.
    let unsigned =
        serde_ipld_dagcbor::to_vec(&Ipld::Map(commit)).map_err(|_| ProofError::MalformedCommit)?;
    key.verify(&unsigned, &sig)?;

    let path = format!("{collection}/{rkey}");
    let cid = mst::get(&car.blocks, data, path.as_bytes())?.ok_or(ProofError::RecordNotFound)?;
    let record_bytes = car.blocks.get(&cid).ok_or(ProofError::MissingRecord)?;
    let record = decode(record_bytes)?;
    match &record {
        Ipld::Map(map) if map.get("$type") == Some(&Ipld::String(collection.to_owned())) => {}
        _ => return Err(ProofError::RecordType),
    }
    Ok(VerifiedRecord {
        cid,
        record: to_json(record)?,
    })
}

/// The atproto data model in JSON: links as `{"$link": cid}`, bytes as `{"$bytes": base64}`.
fn to_json(value: Ipld) -> Result<serde_json::Value, ProofError> {
    use serde_json::Value;
    Ok(match value {
        Ipld::Null => Value::Null,
        Ipld::Bool(b) => Value::Bool(b),
        Ipld::Integer(i) => Value::from(i64::try_from(i).map_err(|_| ProofError::RecordNotJson)?),
        // The atproto data model has no floats.
        Ipld::Float(_) => return Err(ProofError::RecordNotJson),
        Ipld::String(s) => Value::String(s),
        Ipld::Bytes(b) => single(
            "$bytes",
            base64::engine::general_purpose::STANDARD_NO_PAD.encode(b),
        ),
        Ipld::Link(cid) => single("$link", cid.to_string()),
        Ipld::List(items) => {
            Value::Array(items.into_iter().map(to_json).collect::<Result<_, _>>()?)
        }
        Ipld::Map(map) => Value::Object(
            map.into_iter()
                .map(|(k, v)| Ok((k, to_json(v)?)))
                .collect::<Result<_, ProofError>>()?,
        ),
    })
}

fn single(key: &str, value: String) -> serde_json::Value {
    let mut map = serde_json::Map::new();
    map.insert(key.to_owned(), serde_json::Value::String(value));
    serde_json::Value::Object(map)
}

/// Helpers to build proofs, for tests (this crate's and its users'): encode blocks, build a
/// small tree, sign a commit, write a CAR.
pub mod build {
    use super::*;
    use crate::car::cid_for;

    /// DAG-CBOR encodes `value` and returns its CID and bytes.
    pub fn block(value: &Ipld) -> (Cid, Vec<u8>) {
        let bytes = serde_ipld_dagcbor::to_vec(value).unwrap_or_default();
        (cid_for(&bytes), bytes)
    }

    /// The atproto JSON form back to IPLD (`$link` objects become links; no `$bytes`).
    pub fn from_json(value: &serde_json::Value) -> Ipld {
        use serde_json::Value;
        match value {
            Value::Null => Ipld::Null,
            Value::Bool(b) => Ipld::Bool(*b),
            Value::Number(n) => Ipld::Integer(n.as_i64().unwrap_or_default().into()),
            Value::String(s) => Ipld::String(s.clone()),
            Value::Array(a) => Ipld::List(a.iter().map(from_json).collect()),
            Value::Object(o) => {
                if let (1, Some(Value::String(link))) = (o.len(), o.get("$link")) {
                    if let Ok(cid) = link.parse() {
                        return Ipld::Link(cid);
                    }
                }
                Ipld::Map(o.iter().map(|(k, v)| (k.clone(), from_json(v))).collect())
            }
        }
    }

    /// One tree node holding `entries` (sorted `(key, value, right subtree)`), with the keys
    /// prefix-compressed as the spec prescribes.
    pub fn node(left: Option<Cid>, entries: &[(&[u8], Cid, Option<Cid>)]) -> Ipld {
        let mut previous: &[u8] = &[];
        let mut list = Vec::new();
        for (key, value, right) in entries {
            let prefix = previous
                .iter()
                .zip(key.iter())
                .take_while(|(a, b)| a == b)
                .count();
            let mut e = BTreeMap::new();
            e.insert("p".to_owned(), Ipld::Integer(prefix as i128));
            e.insert("k".to_owned(), Ipld::Bytes(key[prefix..].to_vec()));
            e.insert("v".to_owned(), Ipld::Link(*value));
            e.insert("t".to_owned(), right.map_or(Ipld::Null, Ipld::Link));
            list.push(Ipld::Map(e));
            previous = key;
        }
        let mut n = BTreeMap::new();
        n.insert("l".to_owned(), left.map_or(Ipld::Null, Ipld::Link));
        n.insert("e".to_owned(), Ipld::List(list));
        Ipld::Map(n)
    }

    /// The unsigned commit map (version 3) and its signing bytes.
    pub fn unsigned_commit(did: &str, data: Cid, rev: &str) -> (BTreeMap<String, Ipld>, Vec<u8>) {
        let mut c = BTreeMap::new();
        c.insert("did".to_owned(), Ipld::String(did.to_owned()));
        c.insert("version".to_owned(), Ipld::Integer(3));
        c.insert("data".to_owned(), Ipld::Link(data));
        c.insert("rev".to_owned(), Ipld::String(rev.to_owned()));
        c.insert("prev".to_owned(), Ipld::Null);
        let bytes = serde_ipld_dagcbor::to_vec(&Ipld::Map(c.clone())).unwrap_or_default();
        (c, bytes)
    }

    /// A CAR v1 file with `root` and `blocks` in order.
    pub fn car(root: Cid, blocks: &[(Cid, Vec<u8>)]) -> Vec<u8> {
        let mut header = BTreeMap::new();
        header.insert("version".to_owned(), Ipld::Integer(1));
        header.insert("roots".to_owned(), Ipld::List(vec![Ipld::Link(root)]));
        let header = serde_ipld_dagcbor::to_vec(&Ipld::Map(header)).unwrap_or_default();
        let mut out = Vec::new();
        push_frame(&mut out, &header);
        for (cid, data) in blocks {
            let mut section = cid.to_bytes();
            section.extend_from_slice(data);
            push_frame(&mut out, &section);
        }
        out
    }

    fn push_frame(out: &mut Vec<u8>, frame: &[u8]) {
        let mut buf = unsigned_varint::encode::u64_buffer();
        out.extend_from_slice(unsigned_varint::encode::u64(frame.len() as u64, &mut buf));
        out.extend_from_slice(frame);
    }
}
