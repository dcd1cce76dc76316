//! Lookup in an atproto Merkle Search Tree (atproto spec "Repository", "Merkle Search Tree").
//!
//! A node is `{l: CID|null, e: [{p, k, v, t}]}`: `l` holds the keys below the first entry; each
//! entry's key is the first `p` bytes of the previous entry's key followed by `k`; `v` is the
//! record CID; `t` holds the keys between this entry and the next.

use crate::car::decode;
use crate::error::ProofError;
use ipld_core::cid::Cid;
use ipld_core::ipld::Ipld;
use std::collections::HashMap;

/// Deepest tree accepted (a real repository is a handful of levels deep).
const MAX_DEPTH: usize = 64;

/// The record CID stored under `key` in the tree rooted at `root`; `Ok(None)` when the proof
/// shows the key is absent, an error when a node on the path is missing or malformed.
pub fn get(
    blocks: &HashMap<Cid, Vec<u8>>,
    root: Cid,
    key: &[u8],
) -> Result<Option<Cid>, ProofError> {
    let mut node_cid = root;
    for _ in 0..MAX_DEPTH {
        let data = blocks.get(&node_cid).ok_or(ProofError::MissingNode)?;
        let node = Node::parse(&decode(data).map_err(|_| ProofError::MalformedNode)?)?;
        // The subtree that may hold `key`: left of everything, or right of the last smaller entry.
        let mut subtree = node.left;
        for entry in &node.entries {
            match entry.key.as_slice().cmp(key) {
                std::cmp::Ordering::Equal => return Ok(Some(entry.value)),
                std::cmp::Ordering::Less => subtree = entry.right,
                std::cmp::Ordering::Greater => break,
            }
        }
        match subtree {
            Some(next) => node_cid = next,
            None => return Ok(None),
        }
    }
    Err(ProofError::MalformedNode)
}

struct Entry {
    key: Vec<u8>,
    value: Cid,
    right: Option<Cid>,
}

struct Node {
    left: Option<Cid>,
    entries: Vec<Entry>,
}

impl Node {
    fn parse(ipld: &Ipld) -> Result<Self, ProofError> {
        let Ipld::Map(map) = ipld else {
            return Err(ProofError::MalformedNode);
        };
        let left = optional_link(map.get("l"))?;
        let Some(Ipld::List(raw_entries)) = map.get("e") else {
            return Err(ProofError::MalformedNode);
        };
        let mut entries: Vec<Entry> = Vec::with_capacity(raw_entries.len());
        let mut previous: Vec<u8> = Vec::new();
        for raw in raw_entries {
            let Ipld::Map(e) = raw else {
                return Err(ProofError::MalformedNode);
            };
            let (Some(Ipld::Integer(prefix)), Some(Ipld::Bytes(suffix)), Some(Ipld::Link(value))) =
                (e.get("p"), e.get("k"), e.get("v"))
            else {
                return Err(ProofError::MalformedNode);
            };
            let prefix = usize::try_from(*prefix).map_err(|_| ProofError::MalformedNode)?;
            if prefix > previous.len() {
                return Err(ProofError::MalformedNode);
            }
            let mut key = previous[..prefix].to_vec();
            key.extend_from_slice(suffix);
            // Keys must be strictly increasing within a node.
            if !entries.is_empty() && key <= previous {
                return Err(ProofError::MalformedNode);
            }
            previous.clone_from(&key);
            entries.push(Entry {
                key,
                value: *value,
                right: optional_link(e.get("t"))?,
            });
        }
        Ok(Self { left, entries })
    }
}

fn optional_link(value: Option<&Ipld>) -> Result<Option<Cid>, ProofError> {
    match value {
        None | Some(Ipld::Null) => Ok(None),
        Some(Ipld::Link(cid)) => Ok(Some(*cid)),
        Some(_) => Err(ProofError::MalformedNode),
    }
}
