use super::*;
use std::fs;
use std::os::unix::fs::PermissionsExt;

fn files(tag: &str) -> Vec<CredentialFile> {
    vec![
        CredentialFile {
            name: "u.key".into(),
            content: format!("key {tag}").into_bytes().into(),
            mode: 0o600,
        },
        CredentialFile {
            name: "u.crt".into(),
            content: format!("crt {tag}").into_bytes().into(),
            mode: 0o644,
        },
    ]
}

fn read(dir: &Path, name: &str) -> String {
    String::from_utf8(fs::read(dir.join(name)).unwrap()).unwrap()
}

#[test]
fn versions_swap_as_one_unit_and_keep_the_previous() {
    let tmp = tempfile::tempdir().unwrap();
    let d = CredentialDir::new(tmp.path());
    d.install(&files("1")).unwrap();
    assert_eq!(read(tmp.path(), "u.key"), "key 1");
    d.install(&files("2")).unwrap();
    assert_eq!(
        (read(tmp.path(), "u.key"), read(tmp.path(), "u.crt")),
        ("key 2".into(), "crt 2".into())
    );
    assert_eq!(read(&d.previous().unwrap(), "u.key"), "key 1");
    d.install(&files("3")).unwrap();
    let versions = fs::read_dir(tmp.path().join(STORE))
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with("v-"))
        .count();
    assert_eq!(versions, 2);
    let mode = fs::metadata(tmp.path().join("u.key"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
}

#[test]
fn plain_files_are_adopted_without_a_mix() {
    let tmp = tempfile::tempdir().unwrap();
    fs::write(tmp.path().join("u.key"), "old key").unwrap();
    fs::write(tmp.path().join("u.crt"), "old crt").unwrap();
    let d = CredentialDir::new(tmp.path());
    d.install(&files("new")).unwrap();
    assert_eq!(read(tmp.path(), "u.key"), "key new");
    assert_eq!(read(&d.previous().unwrap(), "u.crt"), "old crt");
    assert!(
        fs::symlink_metadata(tmp.path().join("u.crt"))
            .unwrap()
            .file_type()
            .is_symlink()
    );
}

#[test]
fn clean_removes_what_a_dead_writer_left() {
    let tmp = tempfile::tempdir().unwrap();
    let d = CredentialDir::new(tmp.path());
    d.install(&files("1")).unwrap();
    let store = tmp.path().join(STORE);
    let dead_version = store.join("v-1-pid999999999-aaaa");
    fs::create_dir(&dead_version).unwrap();
    let dead_link = store.join(".current-pid999999999-bbbb.tmp-link");
    std::os::unix::fs::symlink("nowhere", &dead_link).unwrap();
    d.clean();
    assert!(!dead_version.exists() && fs::symlink_metadata(&dead_link).is_err());
    assert_eq!(read(tmp.path(), "u.key"), "key 1");
}
