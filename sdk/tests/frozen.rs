//! Released contracts never change: partners built against them. Each released
//! `wit/since_vX/` folder is hashed here (every file's name and bytes, in name order), and
//! this test fails when one changes. A change goes into a new `since_vX/` folder beside
//! them; a new release adds its folder and hash to this list.

use sha2::{Digest, Sha256};

const RELEASED: &[(&str, &str)] = &[
    (
        "wit/since_v0.1.0",
        "2b7346662c1a628b727ca6a38ab385624190c3d7c986735c4d48b266ddbcbe55",
    ),
    (
        "wit/since_v0.2.0",
        "82cd78412b8dd93c90d7ecc8deadb5284a7f5651111de1fc92b85d32c4b794be",
    ),
];

fn folder_hash(dir: &str) -> String {
    let mut names: Vec<_> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{dir}: {e}"))
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    let mut hash = Sha256::new();
    for name in names {
        let bytes = std::fs::read(format!("{dir}/{name}")).unwrap();
        hash.update(name.as_bytes());
        hash.update([0]);
        hash.update((bytes.len() as u64).to_be_bytes());
        hash.update(&bytes);
    }
    hex::encode(hash.finalize())
}

#[test]
fn released_contracts_are_unchanged() {
    let mut changed = Vec::new();
    for (dir, expected) in RELEASED {
        let now = folder_hash(dir);
        if now != *expected {
            changed.push(format!("{dir} (now {now})"));
        }
    }
    assert!(
        changed.is_empty(),
        "a released contract changed: {changed:?}. Released WIT never changes; put the \
         change in a new sdk/wit/since_vX/ folder"
    );
}
