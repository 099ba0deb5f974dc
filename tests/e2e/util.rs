//! The e2e harness: a scratch directory and a way to run the binary in it.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

/// What a run of `runnerkey` gave.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// Asserts exit 0 and returns self.
    #[track_caller]
    pub fn success(self) -> Self {
        assert_eq!(self.code, 0, "expected success: {self:#?}");
        self
    }

    /// Asserts exit 1 (an outcome, e.g. a request the cluster did not
    /// grant) and that stderr mentions every needle.
    #[track_caller]
    pub fn not_granted(self, needles: &[&str]) -> Self {
        assert_eq!(self.code, 1, "expected exit 1: {self:#?}");
        for n in needles {
            assert!(self.stderr.contains(n), "stderr lacks {n:?}: {self:#?}");
        }
        self
    }

    /// Asserts exit 2 and that stderr mentions every needle.
    #[track_caller]
    pub fn input_error(self, needles: &[&str]) -> Self {
        assert_eq!(self.code, 2, "expected exit 2: {self:#?}");
        assert!(self.stderr.starts_with("runnerkey: "), "{self:#?}");
        for n in needles {
            assert!(self.stderr.contains(n), "stderr lacks {n:?}: {self:#?}");
        }
        self
    }
}

/// A scratch directory, removed at the end of the test.
pub struct Dir {
    tmp: tempfile::TempDir,
    /// `LC_ALL` of the commands run here (a UTF-8 one unless changed).
    pub locale: &'static str,
}

impl Dir {
    pub fn new() -> Self {
        Self {
            tmp: tempfile::tempdir().expect("temp dir"),
            locale: "C.UTF-8",
        }
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.tmp.path().join(rel)
    }

    pub fn write(&self, rel: &str, content: impl AsRef<[u8]>) -> PathBuf {
        let p = self.path(rel);
        if let Some(parent) = p.parent() {
            fs::create_dir_all(parent).unwrap();
        }
        fs::write(&p, content).unwrap();
        p
    }

    /// Copies `tests/fixtures/<rel>` in, mode 0600.
    pub fn fixture(&self, rel: &str) -> PathBuf {
        let src = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../tests/fixtures")
            .join(rel);
        let name = Path::new(rel).file_name().unwrap().to_str().unwrap();
        let p = self.write(
            name,
            fs::read(&src).unwrap_or_else(|e| panic!("{}: {e}", src.display())),
        );
        fs::set_permissions(&p, fs::Permissions::from_mode(0o600)).unwrap();
        p
    }

    /// Runs `runnerkey ARGS` in this directory.
    pub fn run(&self, args: &[&str]) -> Run {
        self.run_with_umask(None, args)
    }

    /// Runs `runnerkey ARGS` under `umask`, via sh.
    pub fn run_with_umask(&self, umask: Option<&str>, args: &[&str]) -> Run {
        let bin = env!("CARGO_BIN_EXE_runnerkey");
        let out = match umask {
            None => Command::new(bin)
                .args(args)
                .env("LC_ALL", self.locale)
                .env("RUNNERKEY_STATE_DIR", self.tmp.path().join(".state"))
                .current_dir(self.tmp.path())
                .output(),
            Some(m) => Command::new("sh")
                .arg("-c")
                .arg(format!("umask {m}; exec \"$0\" \"$@\""))
                .arg(bin)
                .args(args)
                .env("LC_ALL", self.locale)
                .env("RUNNERKEY_STATE_DIR", self.tmp.path().join(".state"))
                .current_dir(self.tmp.path())
                .output(),
        }
        .expect("run runnerkey");
        Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    /// Runs `runnerkey ARGS` with `input` on standard input.
    pub fn run_with_stdin(&self, args: &[&str], input: &[u8]) -> Run {
        use std::io::Write;
        let mut child = Command::new(env!("CARGO_BIN_EXE_runnerkey"))
            .args(args)
            .env("LC_ALL", self.locale)
            .env("RUNNERKEY_STATE_DIR", self.tmp.path().join(".state"))
            .current_dir(self.tmp.path())
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("run runnerkey");
        child.stdin.take().unwrap().write_all(input).unwrap();
        let out = child.wait_with_output().expect("wait");
        Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    /// Every file name below the directory, sorted (to prove nothing appeared).
    pub fn listing(&self) -> Vec<String> {
        let mut names = Vec::new();
        let mut stack = vec![self.tmp.path().to_path_buf()];
        while let Some(d) = stack.pop() {
            for e in fs::read_dir(&d).unwrap() {
                let e = e.unwrap();
                let p = e.path();
                names.push(
                    p.strip_prefix(self.tmp.path())
                        .unwrap()
                        .display()
                        .to_string(),
                );
                if e.file_type().unwrap().is_dir() {
                    stack.push(p);
                }
            }
        }
        names.sort();
        names
    }
}

/// The permission bits of a file.
pub fn mode(p: &Path) -> u32 {
    fs::metadata(p).unwrap().permissions().mode() & 0o777
}
