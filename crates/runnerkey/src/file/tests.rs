use super::*;

use std::os::unix::fs::PermissionsExt;

#[test]
fn only_regular_files_under_the_cap_are_read() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("f");
    fs::write(&f, b"12345").unwrap();
    assert_eq!(read(&f).unwrap(), b"12345");
    assert!(matches!(read_capped(&f, 4), Err(crate::Error::Io { .. })));
    assert!(matches!(read(dir.path()), Err(crate::Error::Io { .. })));
    assert!(matches!(
        read(Path::new("/dev/zero")),
        Err(crate::Error::Io { .. })
    ));
    assert!(read_limited(&b"abc"[..], "<stdin>").is_ok());
    let big = vec![0u8; (MAX_INPUT + 1) as usize];
    assert!(matches!(
        read_limited(&big[..], "<stdin>"),
        Err(crate::Error::Io { .. })
    ));
}

#[test]
fn directories_get_their_mode_whatever_the_umask() {
    let dir = tempfile::tempdir().unwrap();
    let leaf = dir.path().join("a/b/keys");
    let created = create_dirs(&leaf, PRIVATE_DIR).unwrap();
    assert_eq!(created.len(), 3);
    let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&leaf), 0o700);
    assert_eq!(mode(&dir.path().join("a")), 0o755);
    assert!(create_dirs(&leaf, PRIVATE_DIR).unwrap().is_empty());
}

#[test]
fn a_failed_commit_removes_what_it_created() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    fs::write(&b, b"there").unwrap();
    let mut out = Outputs::new();
    out.add(&a, b"new a", PUBLIC, false).unwrap();
    // b appears between staging and commit: the commit fails and a goes.
    fs::remove_file(&b).unwrap();
    out.add(&b, b"new b", PUBLIC, false).unwrap();
    fs::write(&b, b"someone else").unwrap();
    assert!(matches!(out.commit(), Err(Error::Exists { .. })));
    assert!(!a.exists());
    assert_eq!(fs::read(&b).unwrap(), b"someone else");
    let leftovers: Vec<_> = fs::read_dir(dir.path())
        .unwrap()
        .flatten()
        .map(|e| e.file_name())
        .collect();
    assert_eq!(leftovers.len(), 1, "{leftovers:?}");
}

#[test]
fn a_shared_file_with_the_same_content_counts_as_written() {
    let dir = tempfile::tempdir().unwrap();
    let ca = dir.path().join("ca.crt");
    let mut out = Outputs::new();
    out.add_shared(&ca, b"CA", PUBLIC).unwrap();
    fs::write(&ca, b"CA").unwrap();
    out.commit().unwrap();
    let mut other = Outputs::new();
    assert!(matches!(
        other.add_shared(&ca, b"ANOTHER CA", PUBLIC),
        Err(crate::Error::Exists { .. })
    ));
}

#[test]
fn temporary_files_of_dead_writers_are_removed_and_others_kept() {
    let dir = tempfile::tempdir().unwrap();
    let dead = dir.path().join(".k.runnerkey-999999999-0.tmp");
    let mine = dir
        .path()
        .join(format!(".k.runnerkey-{}-7.tmp", std::process::id()));
    let plain = dir.path().join("k.tmp");
    for p in [&dead, &mine, &plain] {
        fs::write(p, b"x").unwrap();
    }
    remove_stale_temps(dir.path());
    assert!(!dead.exists() && mine.exists() && plain.exists());
}
