use super::*;

use crate::runner_config::{Change, KubeKey, RunnerConfig, RunnerSelector};
use std::os::unix::fs::PermissionsExt;

fn edited(path: &Path) -> RunnerConfig {
    let mut cfg = RunnerConfig::load(path).unwrap();
    cfg.set_kubernetes(
        &RunnerSelector::Name("a".into()),
        &[Change::set(KubeKey::Namespace, "ci")],
    )
    .unwrap();
    cfg
}

#[test]
fn a_config_holding_a_token_and_its_backup_are_written_0600_from_creation() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.toml");
    fs::write(&path, "[[runners]]\n  name = \"a\"\n").unwrap();
    fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
    let mut cfg = edited(&path);
    cfg.set_kubernetes(
        &RunnerSelector::Name("a".into()),
        &[Change::set(KubeKey::BearerToken, "secret")],
    )
    .unwrap();
    let lock = ConfigLock::acquire(&path, Duration::from_secs(1)).unwrap();
    let prepared = cfg.prepare_save(&lock, &SaveOptions::default()).unwrap();
    // Before the rename: the staged file and the backup are the owner's alone.
    for entry in fs::read_dir(dir.path()).unwrap().flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name != "config.toml" && !name.ends_with(".lock") {
            let mode = entry.metadata().unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600, "{name}");
        }
    }
    let saved = prepared.commit().unwrap();
    assert_eq!(saved.narrowed_from, Some(0o644));
    assert!(saved.narrowed_note().unwrap().contains("was mode 644"));
    for p in [&saved.path, saved.backup.as_ref().unwrap()] {
        assert_eq!(fs::metadata(p).unwrap().permissions().mode() & 0o777, 0o600);
    }
}

#[test]
fn old_backups_are_pruned_to_the_newest_and_nothing_else_goes() {
    let tmp = tempfile::tempdir().unwrap();
    let real = tmp.path().join("config.toml");
    fs::write(&real, "").unwrap();
    for i in 0..5 {
        let b = tmp
            .path()
            .join(format!("config.toml.2026010{i}T000000Z.bak"));
        fs::write(&b, format!("{i}")).unwrap();
        let when = std::time::SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1000 + i);
        fs::File::options()
            .write(true)
            .open(&b)
            .unwrap()
            .set_modified(when)
            .unwrap();
    }
    fs::write(tmp.path().join("config.toml.notes.bak"), "mine").unwrap();
    prune_backups(&real, 2);
    let mut left: Vec<String> = fs::read_dir(tmp.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    left.sort();
    assert_eq!(
        left,
        [
            "config.toml",
            "config.toml.20260103T000000Z.bak",
            "config.toml.20260104T000000Z.bak",
            "config.toml.notes.bak"
        ]
    );
}

#[test]
fn a_save_keeps_mode_and_writes_a_complete_backup_first() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.toml");
    fs::write(&path, "[[runners]]\n  name = \"a\"\n").unwrap();
    fs::set_permissions(&path, fs::Permissions::from_mode(0o640)).unwrap();
    let saved = edited(&path).save(&SaveOptions::default()).unwrap();
    assert!(saved.changed);
    let backup = saved.backup.unwrap();
    assert_eq!(
        fs::read_to_string(backup).unwrap(),
        "[[runners]]\n  name = \"a\"\n"
    );
    assert!(
        fs::read_to_string(&path)
            .unwrap()
            .contains("namespace = \"ci\"")
    );
    assert_eq!(
        fs::metadata(&path).unwrap().permissions().mode() & 0o777,
        0o640
    );
    let temps: Vec<_> = fs::read_dir(dir.path())
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
        .collect();
    assert!(temps.is_empty());
}

#[test]
fn a_file_changed_since_it_was_read_is_not_overwritten() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.toml");
    fs::write(&path, "[[runners]]\n  name = \"a\"\n").unwrap();
    let cfg = edited(&path);
    fs::write(&path, "[[runners]]\n  name = \"a\"\n# someone else\n").unwrap();
    assert!(matches!(
        cfg.save(&SaveOptions::default()),
        Err(Error::ConcurrentModification { .. })
    ));
    assert!(
        fs::read_to_string(&path)
            .unwrap()
            .ends_with("# someone else\n")
    );
}

#[test]
fn a_symlink_at_the_lock_is_refused_and_a_held_lock_waits() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.toml");
    fs::write(&path, "").unwrap();
    let held = ConfigLock::acquire(&path, Duration::from_millis(10)).unwrap();
    assert!(matches!(
        ConfigLock::acquire(&path, Duration::from_millis(50)),
        Err(Error::Locked { .. })
    ));
    drop(held);
    fs::remove_file(dir.path().join("config.toml.lock")).unwrap();
    std::os::unix::fs::symlink(
        dir.path().join("elsewhere"),
        dir.path().join("config.toml.lock"),
    )
    .unwrap();
    assert!(matches!(
        ConfigLock::acquire(&path, Duration::from_millis(10)),
        Err(crate::Error::Io { .. })
    ));
    assert!(!dir.path().join("elsewhere").exists());
}
