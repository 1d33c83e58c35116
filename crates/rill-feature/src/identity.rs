//! Content-hashed identity of features: a canonical byte encoding of (definition name and
//! version, params with their types, dependency identities by role, label flag), hashed with
//! SHA-256. Nothing in it depends on the process, the platform or the order of a map: params
//! are sorted by name, integers are little-endian, strings length-prefixed.

use sha2::{Digest, Sha256};
use std::fmt;

/// A feature's identity: the SHA-256 of its canonical encoding. Names are not part of it (a
/// name is an alias); the definition's version is.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FeatureId(pub [u8; 32]);

impl FeatureId {
    /// The full hash as 64 lowercase hex digits.
    pub fn hex(&self) -> String {
        self.0.iter().map(|b| format!("{b:02x}")).collect()
    }
    /// The first 8 hex digits (for generated names and graph labels).
    pub fn short(&self) -> String {
        self.hex()[..8].to_string()
    }
}

impl fmt::Debug for FeatureId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "FeatureId({})", self.short())
    }
}

impl fmt::Display for FeatureId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.hex())
    }
}

/// Appends a length-prefixed UTF-8 string.
pub(crate) fn encode_str(s: &str, out: &mut Vec<u8>) {
    out.extend_from_slice(&(s.len() as u64).to_le_bytes());
    out.extend_from_slice(s.as_bytes());
}

/// The domain tag that starts every encoding (bump it if the encoding itself ever changes).
const DOMAIN: &str = "rill-feature/identity/1";

/// The canonical encoding of a node and its hash.
pub(crate) fn identity(
    definition: &str,
    version: u32,
    is_source: bool,
    params: &crate::Params,
    deps: &[(&str, FeatureId)],
    label: bool,
) -> FeatureId {
    let mut buf = Vec::with_capacity(128);
    encode_str(DOMAIN, &mut buf);
    buf.push(is_source as u8);
    encode_str(definition, &mut buf);
    buf.extend_from_slice(&version.to_le_bytes());
    buf.push(label as u8);
    params.encode(&mut buf);
    buf.extend_from_slice(&(deps.len() as u32).to_le_bytes());
    for (role, id) in deps {
        encode_str(role, &mut buf);
        buf.extend_from_slice(&id.0);
    }
    FeatureId(Sha256::digest(&buf).into())
}
