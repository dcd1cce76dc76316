//! A minimal CAR v1 reader (IPLD "Content Addressable aRchives"), enough for the small proofs
//! `com.atproto.sync.getRecord` answers: a varint-framed DAG-CBOR header with one root, then
//! varint-framed `CID || block` sections. Every block is checked against its CID (CIDv1,
//! dag-cbor, sha-256), which is what makes the proof hash-linked.
//!
//! Own code rather than a CAR crate: the input is a bounded in-memory buffer (the fetcher caps
//! it), the available crates are streaming/async readers that do not check block hashes, and
//! the format is two varints and a CID per block.

use crate::error::ProofError;
use aws_lc_rs::digest;
use ipld_core::cid::Cid;
use ipld_core::ipld::Ipld;
use std::collections::HashMap;

/// The dag-cbor multicodec.
pub const DAG_CBOR: u64 = 0x71;
/// The sha2-256 multihash code.
pub const SHA2_256: u64 = 0x12;
/// Most blocks accepted in one proof (a record proof holds the commit, one node per tree
/// level and the record).
pub const MAX_BLOCKS: usize = 1024;

/// A parsed, hash-checked CAR file.
#[derive(Debug)]
pub struct Car {
    pub root: Cid,
    pub blocks: HashMap<Cid, Vec<u8>>,
}

/// The CID of a DAG-CBOR block with these bytes.
pub fn cid_for(bytes: &[u8]) -> Cid {
    let hash = digest::digest(&digest::SHA256, bytes);
    // A 32-byte digest always fits the 64-byte multihash.
    let mh = ipld_core::cid::multihash::Multihash::<64>::wrap(SHA2_256, hash.as_ref())
        .unwrap_or_default();
    Cid::new_v1(DAG_CBOR, mh)
}

/// Reads and checks a CAR v1 file with exactly one root.
pub fn read_car(bytes: &[u8]) -> Result<Car, ProofError> {
    let (header, mut rest) = frame(bytes)?;
    let header: Ipld =
        serde_ipld_dagcbor::from_slice(header).map_err(|_| ProofError::MalformedCar)?;
    let Ipld::Map(header) = header else {
        return Err(ProofError::MalformedCar);
    };
    if header.get("version") != Some(&Ipld::Integer(1)) {
        return Err(ProofError::MalformedCar);
    }
    let root = match header.get("roots") {
        Some(Ipld::List(roots)) => match roots.as_slice() {
            [Ipld::Link(root)] => *root,
            _ => return Err(ProofError::CarRoots),
        },
        _ => return Err(ProofError::MalformedCar),
    };
    let mut blocks = HashMap::new();
    while !rest.is_empty() {
        if blocks.len() >= MAX_BLOCKS {
            return Err(ProofError::TooManyBlocks);
        }
        let (section, next) = frame(rest)?;
        rest = next;
        let mut cursor = std::io::Cursor::new(section);
        let cid = Cid::read_bytes(&mut cursor).map_err(|_| ProofError::MalformedCar)?;
        let data = &section[cursor.position() as usize..];
        check_block(&cid, data)?;
        blocks.insert(cid, data.to_vec());
    }
    Ok(Car { root, blocks })
}

/// Splits one varint-length-prefixed frame off `bytes`.
fn frame(bytes: &[u8]) -> Result<(&[u8], &[u8]), ProofError> {
    let (len, rest) = unsigned_varint::decode::u64(bytes).map_err(|_| ProofError::MalformedCar)?;
    let len = usize::try_from(len).map_err(|_| ProofError::MalformedCar)?;
    if len == 0 || len > rest.len() {
        return Err(ProofError::MalformedCar);
    }
    Ok(rest.split_at(len))
}

fn check_block(cid: &Cid, data: &[u8]) -> Result<(), ProofError> {
    let hash = cid.hash();
    if cid.version() != ipld_core::cid::Version::V1
        || cid.codec() != DAG_CBOR
        || hash.code() != SHA2_256
        || hash.size() != 32
    {
        return Err(ProofError::UnsupportedCid);
    }
    if digest::digest(&digest::SHA256, data).as_ref() != hash.digest() {
        return Err(ProofError::BlockHashMismatch);
    }
    Ok(())
}

/// Decodes a DAG-CBOR block.
pub fn decode(data: &[u8]) -> Result<Ipld, ProofError> {
    serde_ipld_dagcbor::from_slice(data).map_err(|_| ProofError::MalformedBlock)
}
