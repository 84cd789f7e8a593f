//! Unit tests for the whole crate.

use std::sync::Arc;

use proptest::prelude::*;

use crate::token::{verify, TOKEN_PREFIX};
use crate::*;

const AAD: &[u8] = b"project=p1|table=agents|column=email|row=42";

fn kek(id: &str) -> LocalKek {
    LocalKek::generate(id).unwrap()
}

#[test]
fn cipher_round_trip() {
    let cipher = Cipher::new(&DataKey::generate());
    for plain in [&b""[..], b"x", b"alice@example.com", &[7u8; 70_000][..]] {
        let blob = cipher.encrypt(plain, AAD).unwrap();
        assert_eq!(cipher.decrypt(&blob, AAD).unwrap(), plain);
    }
    assert_eq!(cipher.encryptions(), 4);
}

#[test]
fn blob_is_self_describing() {
    let key = DataKey::generate();
    let cipher = Cipher::new(&key);
    let blob = cipher.encrypt(b"hello", AAD).unwrap();
    let parts = parse_blob(&blob).unwrap();
    assert_eq!(parts.version, BLOB_VERSION);
    assert_eq!(parts.key_id, key.id().as_str());
    assert_eq!(parts.nonce.len(), NONCE_LEN);
    assert_eq!(parts.ciphertext.len(), 5 + TAG_LEN);
}

#[test]
fn same_plaintext_gives_different_blobs() {
    let cipher = Cipher::new(&DataKey::generate());
    let a = cipher.encrypt(b"same", AAD).unwrap();
    let b = cipher.encrypt(b"same", AAD).unwrap();
    assert_ne!(a, b);
}

#[test]
fn wrong_aad_is_rejected() {
    let cipher = Cipher::new(&DataKey::generate());
    let blob = cipher.encrypt(b"alice@example.com", AAD).unwrap();
    let moved = b"project=p1|table=agents|column=email|row=43";
    let err = cipher.decrypt(&blob, moved).unwrap_err();
    assert_eq!(err.error_type(), "decrypt");
}

#[test]
fn wrong_key_with_same_id_is_rejected() {
    let id = DataKeyId::new("dk-1").unwrap();
    let a = Cipher::new(&DataKey::generate_with_id(id.clone()));
    let b = Cipher::new(&DataKey::generate_with_id(id));
    let blob = a.encrypt(b"secret", AAD).unwrap();
    assert!(matches!(b.decrypt(&blob, AAD), Err(CryptoError::Decrypt)));
}

#[test]
fn other_key_id_is_unknown() {
    let a = Cipher::new(&DataKey::generate());
    let b = Cipher::new(&DataKey::generate());
    let blob = a.encrypt(b"secret", AAD).unwrap();
    assert!(matches!(
        b.decrypt(&blob, AAD),
        Err(CryptoError::UnknownDataKey(_))
    ));
}

#[test]
fn every_flipped_bit_is_rejected() {
    let cipher = Cipher::new(&DataKey::generate());
    let blob = cipher.encrypt(b"alice", AAD).unwrap();
    for byte in 0..blob.len() {
        for bit in 0..8 {
            let mut bad = blob.clone();
            bad[byte] ^= 1 << bit;
            assert!(cipher.decrypt(&bad, AAD).is_err(), "byte {byte} bit {bit}");
        }
    }
}

#[test]
fn every_truncation_is_rejected() {
    let cipher = Cipher::new(&DataKey::generate());
    let blob = cipher.encrypt(b"alice", AAD).unwrap();
    for len in 0..blob.len() {
        assert!(cipher.decrypt(&blob[..len], AAD).is_err(), "length {len}");
    }
    let mut longer = blob.clone();
    longer.push(0);
    assert!(cipher.decrypt(&longer, AAD).is_err());
}

#[test]
fn unknown_blob_version_is_rejected() {
    let cipher = Cipher::new(&DataKey::generate());
    let mut blob = cipher.encrypt(b"alice", AAD).unwrap();
    blob[0] = 9;
    assert!(matches!(
        cipher.decrypt(&blob, AAD),
        Err(CryptoError::UnsupportedVersion(9))
    ));
}

#[test]
fn blob_contains_no_plaintext() {
    let plain = b"very-distinctive-plaintext alice.smith@example.com";
    let keys = ProjectKeys::create(&kek("k1")).unwrap();
    let blob = keys.encrypt(plain, AAD).unwrap();
    assert!(!blob.windows(8).any(|w| plain.windows(8).any(|p| p == w)));
}

#[test]
fn key_exhaustion_bound() {
    let key = DataKey::generate();
    let cipher = Cipher::with_state(&key, 0, 3);
    for _ in 0..3 {
        cipher.encrypt(b"x", AAD).unwrap();
    }
    let err = cipher.encrypt(b"x", AAD).unwrap_err();
    assert!(matches!(err, CryptoError::KeyExhausted { limit: 3, .. }));
    assert_eq!(err.error_type(), "key_exhausted");
    assert!(!err.is_retriable());
    assert_eq!(cipher.encryptions(), 3);
    assert!(cipher.is_exhausted());
    // Decryption still works after exhaustion.
    let resumed = Cipher::with_state(&key, 2, 3);
    let blob = resumed.encrypt(b"y", AAD).unwrap();
    assert!(resumed.encrypt(b"z", AAD).is_err());
    assert_eq!(resumed.decrypt(&blob, AAD).unwrap(), b"y");
}

#[test]
fn default_bound_is_two_to_the_31() {
    assert_eq!(DEFAULT_ENCRYPTION_LIMIT, 1u64 << 31);
    assert_eq!(Cipher::new(&DataKey::generate()).limit(), 1u64 << 31);
}

#[test]
fn project_exhaustion_then_rotate_recovers() {
    let k = kek("k1");
    let mut keys = ProjectKeys::create(&k).unwrap();
    keys.set_encryption_limit(2);
    let first = keys.encrypt(b"a", AAD).unwrap();
    keys.encrypt(b"b", AAD).unwrap();
    assert!(matches!(
        keys.encrypt(b"c", AAD),
        Err(CryptoError::KeyExhausted { .. })
    ));
    let old = keys.active_key_id().clone();
    assert_eq!(keys.encryptions(&old), Some(2));
    keys.rotate_data_key(&k).unwrap();
    let second = keys.encrypt(b"c", AAD).unwrap();
    assert_eq!(keys.decrypt(&first, AAD).unwrap(), b"a");
    assert_eq!(keys.decrypt(&second, AAD).unwrap(), b"c");
    let stored = keys.export();
    let counter = stored
        .keys
        .iter()
        .find(|s| s.wrapped.key_id == old)
        .unwrap();
    assert_eq!(counter.encryptions, 2);
}

#[test]
fn rotation_keeps_old_data_readable() {
    let k = kek("k1");
    let mut keys = ProjectKeys::create(&k).unwrap();
    let before = keys.encrypt(b"before", AAD).unwrap();
    let old_id = keys.active_key_id().clone();
    let new_id = keys.rotate_data_key(&k).unwrap();
    assert_ne!(old_id, new_id);
    assert_eq!(keys.active_key_id(), &new_id);
    let after = keys.encrypt(b"after", AAD).unwrap();
    assert_eq!(parse_blob(&after).unwrap().key_id, new_id.as_str());
    assert_eq!(keys.key_ids().len(), 2);

    // Also after a store round trip.
    let json = serde_json::to_string(&keys.export()).unwrap();
    let stored: StoredProjectKeys = serde_json::from_str(&json).unwrap();
    let reloaded = ProjectKeys::load(&stored, &k).unwrap();
    assert_eq!(reloaded.decrypt(&before, AAD).unwrap(), b"before");
    assert_eq!(reloaded.decrypt(&after, AAD).unwrap(), b"after");
    assert_eq!(reloaded.active_key_id(), &new_id);
}

#[test]
fn rewrap_with_new_kek_drops_the_old_kek() {
    let old_kek = kek("kek-2025");
    let new_kek = kek("kek-2026");
    let mut keys = ProjectKeys::create(&old_kek).unwrap();
    let first = keys.encrypt(b"first", AAD).unwrap();
    keys.rotate_data_key(&old_kek).unwrap();
    let second = keys.encrypt(b"second", AAD).unwrap();

    keys.rewrap(&new_kek).unwrap();
    let stored = keys.export();
    assert!(stored.keys.iter().all(|k| k.wrapped.kek_id == "kek-2026"));

    // Only the new KEK is available now.
    let reloaded = ProjectKeys::load(&stored, &new_kek).unwrap();
    assert_eq!(reloaded.decrypt(&first, AAD).unwrap(), b"first");
    assert_eq!(reloaded.decrypt(&second, AAD).unwrap(), b"second");
    // And the old KEK can no longer open the stored keys.
    assert!(matches!(
        ProjectKeys::load(&stored, &old_kek),
        Err(CryptoError::UnknownKek(_))
    ));
}

#[test]
fn kek_ring_unwraps_by_id_during_rotation() {
    let old_kek: Arc<dyn KeyEncryptionKey> = Arc::new(kek("old"));
    let new_kek: Arc<dyn KeyEncryptionKey> = Arc::new(kek("new"));
    let keys = ProjectKeys::create(old_kek.as_ref()).unwrap();
    let blob = keys.encrypt(b"data", AAD).unwrap();
    let stored = keys.export();

    let ring = KekRing::new(new_kek.clone()).with_other(old_kek);
    assert_eq!(ring.id(), "new");
    let mut loaded = ProjectKeys::load(&stored, &ring).unwrap();
    loaded.rewrap(&ring).unwrap();
    let stored = loaded.export();
    let only_new = KekRing::new(new_kek);
    let reloaded = ProjectKeys::load(&stored, &only_new).unwrap();
    assert_eq!(reloaded.decrypt(&blob, AAD).unwrap(), b"data");
}

#[test]
fn unwrap_with_wrong_kek_or_tampered_wrap_fails() {
    let a = kek("same-id");
    let b = kek("same-id");
    let dek = DataKey::generate();
    let wrapped = a.wrap(&dek).unwrap();
    assert!(matches!(b.unwrap(&wrapped), Err(CryptoError::Decrypt)));
    assert_eq!(
        a.unwrap(&wrapped).unwrap().expose_bytes(),
        dek.expose_bytes()
    );

    let mut swapped_id = wrapped.clone();
    swapped_id.key_id = DataKeyId::new("dk-other").unwrap();
    assert!(matches!(a.unwrap(&swapped_id), Err(CryptoError::Decrypt)));
    let mut bad_nonce = wrapped.clone();
    bad_nonce.nonce.pop();
    assert!(matches!(
        a.unwrap(&bad_nonce),
        Err(CryptoError::Malformed(_))
    ));
    let mut bad_version = wrapped.clone();
    bad_version.version = 7;
    assert!(matches!(
        a.unwrap(&bad_version),
        Err(CryptoError::UnsupportedVersion(7))
    ));
    let mut short = wrapped;
    short.ciphertext.truncate(3);
    assert!(matches!(a.unwrap(&short), Err(CryptoError::Decrypt)));
}

#[test]
fn wrapped_key_serialises_as_base64() {
    let w = kek("k1").wrap(&DataKey::generate()).unwrap();
    let json = serde_json::to_value(&w).unwrap();
    assert!(json["nonce"].is_string());
    assert!(json["ciphertext"].is_string());
    assert_eq!(json["kek_id"], "k1");
    let back: WrappedKey = serde_json::from_value(json).unwrap();
    assert_eq!(back, w);
}

#[test]
fn load_rejects_missing_active_key() {
    let k = kek("k1");
    let mut stored = ProjectKeys::create(&k).unwrap().export();
    stored.active = DataKeyId::new("dk-missing").unwrap();
    assert!(matches!(
        ProjectKeys::load(&stored, &k),
        Err(CryptoError::UnknownDataKey(_))
    ));
}

#[test]
fn project_decrypt_unknown_key_id() {
    let a = ProjectKeys::create(&kek("k1")).unwrap();
    let b = ProjectKeys::create(&kek("k1")).unwrap();
    let blob = a.encrypt(b"x", AAD).unwrap();
    assert_eq!(
        b.decrypt(&blob, AAD).unwrap_err().error_type(),
        "unknown_data_key"
    );
}

#[test]
fn local_kek_from_file_raw_and_hex_and_env() {
    let bytes: [u8; 32] = core::array::from_fn(|i| i as u8);
    let dir = tempfile::tempdir().unwrap();
    let raw = dir.path().join("kek.bin");
    std::fs::write(&raw, bytes).unwrap();
    let hexfile = dir.path().join("kek.hex");
    std::fs::write(&hexfile, format!("{}\n", hex::encode(bytes))).unwrap();

    let from_raw = LocalKek::from_file("k", &raw).unwrap();
    let from_hex = LocalKek::from_file("k", &hexfile).unwrap();
    let wrapped = from_raw.wrap(&DataKey::generate()).unwrap();
    from_hex.unwrap(&wrapped).unwrap();

    let var = "WFM_CRYPTO_TEST_KEK_HEX";
    std::env::set_var(var, hex::encode(bytes));
    let from_env = LocalKek::from_env("k", var).unwrap();
    from_env.unwrap(&wrapped).unwrap();

    let missing = LocalKek::from_env("k", "WFM_CRYPTO_TEST_KEK_UNSET").unwrap_err();
    assert_eq!(missing.error_type(), "key_source");
    let nofile = LocalKek::from_file("k", &dir.path().join("nope")).unwrap_err();
    assert_eq!(nofile.error_type(), "key_source");
    std::fs::write(&raw, [1u8; 31]).unwrap();
    assert!(matches!(
        LocalKek::from_file("k", &raw),
        Err(CryptoError::InvalidKeyMaterial(_))
    ));
    assert!(LocalKek::from_hex("k", "zz").is_err());
    assert!(LocalKek::from_hex("k", &"g".repeat(64)).is_err());
    assert!(matches!(
        LocalKek::from_bytes("", &bytes),
        Err(CryptoError::InvalidKeyId(_))
    ));
}

#[test]
fn debug_never_prints_key_material() {
    let bytes = [0xabu8; 32];
    let k = LocalKek::from_bytes("k1", &bytes).unwrap();
    let dek = DataKey::from_bytes(DataKeyId::new("dk-1").unwrap(), &bytes);
    for text in [format!("{k:?}"), format!("{dek:?}")] {
        assert!(!text.contains("abab"), "{text}");
        assert!(!text.contains("171"), "{text}");
        assert!(text.contains("redacted"));
    }
}

#[test]
fn key_ids_are_validated() {
    assert!(DataKeyId::new("dk-0123.a_b:c").is_ok());
    assert!(DataKeyId::new("").is_err());
    assert!(DataKeyId::new("has space").is_err());
    assert!(DataKeyId::new("x".repeat(65)).is_err());
    assert!(serde_json::from_str::<DataKeyId>("\"bad id\"").is_err());
}

#[test]
fn token_has_at_least_128_random_bits() {
    let (token, hash) = generate_token();
    let random = token.strip_prefix(TOKEN_PREFIX).unwrap();
    // base64 carries 6 bits per character.
    assert!(random.len() * 6 >= 128, "{}", random.len());
    assert_eq!(random.len(), 43);
    assert!(random
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'));
    assert_eq!(hash, hash_token(&token));
    let (other, _) = generate_token();
    assert_ne!(token, other);
}

#[test]
fn token_verify_and_hash_differs_from_token() {
    let (token, hash) = generate_token();
    assert!(verify(&token, &hash));
    assert!(!verify(&format!("{token}x"), &hash));
    assert!(!verify("", &hash));
    let hex_hash = hash.to_string();
    assert_eq!(hex_hash.len(), 64);
    assert!(!hex_hash.contains(&token));
    assert!(!token.contains(&hex_hash));
    let parsed: TokenHash = hex_hash.parse().unwrap();
    assert_eq!(parsed, hash);
    let json = serde_json::to_string(&hash).unwrap();
    assert_eq!(serde_json::from_str::<TokenHash>(&json).unwrap(), hash);
    assert!("abc".parse::<TokenHash>().is_err());
}

#[test]
fn error_types_are_bounded_and_backend_retriable() {
    let e = CryptoError::Backend {
        message: "kms throttled".into(),
        retriable: true,
    };
    assert!(e.is_retriable());
    assert_eq!(e.error_type(), "backend");
    assert!(!CryptoError::Decrypt.is_retriable());
}

proptest! {
    #[test]
    fn decrypt_never_panics_on_random_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
        let keys = ProjectKeys::create(&kek("k1")).unwrap();
        prop_assert!(keys.decrypt(&bytes, AAD).is_err());
        let _ = parse_blob(&bytes);
    }

    #[test]
    fn decrypt_never_panics_on_mutated_blobs(
        plain in proptest::collection::vec(any::<u8>(), 0..64),
        index in any::<usize>(),
        value in any::<u8>(),
        cut in any::<usize>(),
    ) {
        let keys = ProjectKeys::create(&kek("k1")).unwrap();
        let mut blob = keys.encrypt(&plain, AAD).unwrap();
        let i = index % blob.len();
        let changed = blob[i] != value;
        blob[i] = value;
        let result = keys.decrypt(&blob, AAD);
        if changed {
            prop_assert!(result.is_err());
        }
        let _ = keys.decrypt(&blob[..cut % (blob.len() + 1)], AAD);
    }

    #[test]
    fn round_trip_any_payload(plain in proptest::collection::vec(any::<u8>(), 0..2048), aad in proptest::collection::vec(any::<u8>(), 0..64)) {
        let keys = ProjectKeys::create(&kek("k1")).unwrap();
        let blob = keys.encrypt(&plain, &aad).unwrap();
        prop_assert_eq!(keys.decrypt(&blob, &aad).unwrap(), plain);
    }
}

/// Throughput figure: `cargo test -p wfm-crypto --release -- --ignored --nocapture bench`.
#[test]
#[ignore]
fn bench_encrypt_decrypt_throughput() {
    let cipher = Cipher::new(&DataKey::generate());
    for size in [1024usize, 64 * 1024] {
        let plain = vec![0x5au8; size];
        let iterations = (256 * 1024 * 1024 / size).max(1);
        let start = std::time::Instant::now();
        let mut blob = Vec::new();
        for _ in 0..iterations {
            blob = cipher.encrypt(&plain, AAD).unwrap();
        }
        let enc = start.elapsed();
        let start = std::time::Instant::now();
        for _ in 0..iterations {
            std::hint::black_box(cipher.decrypt(&blob, AAD).unwrap());
        }
        let dec = start.elapsed();
        let mb = (size * iterations) as f64 / 1e6;
        println!(
            "{size:>6} B payload: encrypt {:.0} MB/s, decrypt {:.0} MB/s ({iterations} ops)",
            mb / enc.as_secs_f64(),
            mb / dec.as_secs_f64()
        );
    }
}
