//! API tokens: generated once and shown once, stored only as a SHA-256 hash, verified in
//! constant time.

use std::fmt;
use std::str::FromStr;

use base64::Engine;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::CryptoError;

/// Prefix of every token, so leaked tokens are recognisable by secret scanners.
pub const TOKEN_PREFIX: &str = "wfm_";
/// Random bytes per token (256 bits).
pub const TOKEN_RANDOM_BYTES: usize = 32;

/// SHA-256 of a token: what the hub stores. Equality is constant-time. Serialises as hex.
#[derive(Clone, Copy, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct TokenHash([u8; 32]);

impl TokenHash {
    /// The raw hash bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl PartialEq for TokenHash {
    fn eq(&self, other: &Self) -> bool {
        self.0.ct_eq(&other.0).into()
    }
}

impl fmt::Display for TokenHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

impl fmt::Debug for TokenHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TokenHash({}…)", &hex::encode(&self.0[..4]))
    }
}

impl FromStr for TokenHash {
    type Err = CryptoError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let mut bytes = [0u8; 32];
        if s.len() != 64 || hex::decode_to_slice(s, &mut bytes).is_err() {
            return Err(CryptoError::Malformed("a token hash is 64 hex digits"));
        }
        Ok(TokenHash(bytes))
    }
}

impl TryFrom<String> for TokenHash {
    type Error = CryptoError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        value.parse()
    }
}

impl From<TokenHash> for String {
    fn from(value: TokenHash) -> Self {
        value.to_string()
    }
}

/// A new token (`wfm_` + 256 random bits in unpadded base64url) and its hash. Show the token
/// once, store only the hash.
pub fn generate_token() -> (String, TokenHash) {
    let mut random = [0u8; TOKEN_RANDOM_BYTES];
    rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut random);
    let encoded = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(random);
    zeroize::Zeroize::zeroize(&mut random);
    let token = format!("{TOKEN_PREFIX}{encoded}");
    let hash = hash_token(&token);
    (token, hash)
}

/// SHA-256 of the token's bytes (including the prefix).
pub fn hash_token(token: &str) -> TokenHash {
    TokenHash(Sha256::digest(token.as_bytes()).into())
}

/// Whether `token` hashes to `expected`; the comparison is constant-time.
pub fn verify(token: &str, expected: &TokenHash) -> bool {
    let actual = hash_token(token);
    actual.0.ct_eq(&expected.0).into()
}
