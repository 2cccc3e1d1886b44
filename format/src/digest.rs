//! Content digests: SHA-256 for names that leave the process (store, canonical
//! names, `weld hash`), blake3 for internal keys.

use sha2::{Digest, Sha256};

/// The SHA-256 of some bytes.
pub fn sha256(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

/// The blake3 hash of some bytes (multi-threaded for large inputs).
pub fn blake3(bytes: &[u8]) -> [u8; 32] {
    if bytes.len() >= 1 << 20 {
        let mut h = blake3::Hasher::new();
        h.update_rayon(bytes);
        *h.finalize().as_bytes()
    } else {
        *blake3::hash(bytes).as_bytes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::names::hex;

    #[test]
    fn known_vectors() {
        assert_eq!(
            hex(&sha256(b"abc")),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(
            hex(&blake3(b"")),
            "af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262"
        );
        let big = vec![7u8; 3 << 20];
        assert_eq!(blake3(&big), *::blake3::hash(&big).as_bytes());
    }
}
