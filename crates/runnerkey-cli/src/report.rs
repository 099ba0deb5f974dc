//! `inspect` and `verify`: reports in text or JSON.

use runnerkey::inspect::{CertificateInfo, Item, KeyDescription, inspect_file};
use runnerkey::verify::VerifyReport;
use runnerkey::verify::verify_client_chain;
use runnerkey::{Certificate, PrivateKey, Result, Severity, SubjectProblem};

use crate::Outcome;
use crate::args::{InspectArgs, VerifyArgs};
use crate::inputs;
use crate::term::rfc3339;

fn key_text(k: &Option<KeyDescription>) -> String {
    match k {
        None => "unknown".into(),
        Some(k) => {
            let mut s = match k.curve {
                Some(c) => format!("{} {c}", k.algorithm),
                None if k.algorithm == runnerkey::KeyFamily::Rsa => format!("RSA {}", k.bits),
                None => k.algorithm.to_string(),
            };
            if k.weak {
                s.push_str(" (WEAK: below 2048 bits)");
            }
            s
        }
    }
}

fn list(v: &[impl AsRef<str>]) -> String {
    if v.is_empty() {
        "(none)".into()
    } else {
        v.iter()
            .map(|g| crate::term::one_line(g.as_ref()))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// The user line: the CN, or every CN and which one Kubernetes uses.
fn user_line(user: &str, common_names: &[String]) {
    if common_names.len() > 1 {
        let all: Vec<String> = common_names.iter().map(|n| format!("{n:?}")).collect();
        out!(
            "  user (CN):        {user:?}  (the last of {} CNs: {}; the API server uses the last)",
            common_names.len(),
            all.join(", ")
        );
    } else if user.is_empty() {
        out!("  user (CN):        (none: the API server authenticates no user)");
    } else {
        out!("  user (CN):        {}", crate::term::one_line(user));
    }
}

fn subject_problems(problems: &[SubjectProblem]) {
    for p in problems {
        out!("  ✗ subject:        {p}");
    }
}

fn print_certificate(c: &CertificateInfo) {
    out!("certificate");
    user_line(&c.user, &c.common_names);
    out!("  groups (O):       {}", list(&c.groups));
    subject_problems(&c.subject_problems);
    out!("  subject:          {}", c.subject);
    out!("  issuer:           {}", c.issuer);
    out!("  serial:           {}", c.serial);
    out!("  version:          v{}", c.version);
    out!("  not before:       {}", rfc3339(c.not_before));
    let left = if c.expired {
        format!("EXPIRED {} days ago", -c.days_left)
    } else {
        format!("{} days left", c.days_left)
    };
    out!("  not after:        {} ({left})", rfc3339(c.not_after));
    out!("  key:              {}", key_text(&c.key));
    out!("  signature:        {}", c.signature_algorithm);
    let ca = match (c.basic_constraints_ca, c.version) {
        (Some(true), _) => "yes (basicConstraints CA:TRUE)",
        (Some(false), _) => "no (basicConstraints CA:FALSE)",
        (None, 1) => {
            "not stated (X.509 v1, no extensions): a trust anchor if put in a CA file, a client certificate otherwise"
        }
        (None, _) => "not stated (no basicConstraints): not a CA",
    };
    out!("  CA:               {ca}");
    let ku = c
        .key_usage
        .as_ref()
        .map(|v| list(v))
        .unwrap_or_else(|| "(absent)".into());
    out!("  key usage:        {ku}");
    let eku = c
        .extended_key_usage
        .as_ref()
        .map(|v| list(v))
        .unwrap_or_else(|| "(absent: any purpose)".into());
    out!("  ext. key usage:   {eku}");
    if !c.subject_alt_names.is_empty() {
        out!("  alt. names:       {}", list(&c.subject_alt_names));
    }
    if let Some(s) = &c.subject_key_id {
        out!("  subject key id:   {s}");
    }
    if let Some(a) = &c.authority_key_id {
        out!("  authority key id: {a}");
    }
    out!("  SHA-256:          {}", c.sha256_fingerprint);
}

/// `runnerkey inspect`
pub fn inspect(a: &InspectArgs) -> Result<Outcome> {
    let pass = inputs::passphrase(a.passphrase_file.as_deref())?;
    let data = crate::stdio::read(&a.file)?;
    let items = inspect_file(&data, pass.as_ref(), None).map_err(|e| e.in_file(&a.file))?;
    if a.out.data() {
        a.out.print(&items)?;
        return Ok(Outcome::Ok);
    }
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            out!();
        }
        match item {
            Item::Certificate(c) => print_certificate(c),
            Item::KubeconfigUser(u) => {
                out!(
                    "kubeconfig user {:?} (certificate {}, key {})",
                    u.name,
                    u.source,
                    if u.key_embedded {
                        "embedded: keep this file secret"
                    } else {
                        "referenced"
                    }
                );
                print_certificate(&u.certificate);
            }
            Item::CertificateRequest(r) => {
                out!("certificate request (signature verified)");
                user_line(&r.user, &r.common_names);
                out!("  groups (O):       {}", list(&r.groups));
                subject_problems(&r.subject_problems);
                out!("  subject:          {}", r.subject);
                out!("  key:              {}", key_text(&r.key));
            }
            Item::PrivateKey(k) => {
                out!("private key (contents not shown)");
                out!(
                    "  format:           {}",
                    serde_json::to_value(k.format)
                        .ok()
                        .and_then(|v| v.as_str().map(String::from))
                        .unwrap_or_default()
                );
                out!("  key:              {}", key_text(&k.key));
                if let Some(fp) = k.key.as_ref().and_then(|k| k.public_key_sha256.as_ref()) {
                    out!("  public key SHA-256: {fp}");
                }
                if let Some(n) = &k.note {
                    out!("  note:             {n}");
                }
            }
        }
    }
    Ok(Outcome::Ok)
}

fn print_verify(r: &VerifyReport) {
    let warnings = r.problems_of(Severity::Warning).count();
    let mark = match (r.ok, warnings) {
        (false, _) => "FAILED".to_string(),
        (true, 0) => "OK".to_string(),
        (true, n) => format!("OK with {n} warning(s)"),
    };
    out!("{mark}: {} for client authentication", r.subject);
    out!("  identity:  {}", r.identity);
    if r.common_names.len() > 1 {
        out!(
            "  CNs:       {:?} (the API server uses the last)",
            r.common_names
        );
    }
    if r.chain_length > 1 {
        out!(
            "  chain:     the certificate and {} intermediate(s)",
            r.chain_length - 1
        );
    }
    out!("  issuer:    {}", r.issuer);
    out!(
        "  not after: {} ({} days left)",
        rfc3339(r.not_after),
        r.days_left
    );
    if let Some(s) = &r.signed_by {
        out!("  signed by: {s}");
    }
    if let Some(m) = r.key_matches {
        out!(
            "  key:       {}",
            if m { "matches" } else { "DOES NOT MATCH" }
        );
    }
    for p in &r.problems {
        let mark = if p.severity == Severity::Error {
            "✗"
        } else {
            "!"
        };
        out!("  {mark} [{}] {}", p.code, p.message);
    }
}

/// `runnerkey verify`
pub fn verify(a: &VerifyArgs) -> Result<Outcome> {
    let cas = runnerkey::load_certificates(&a.ca)?;
    let chain =
        Certificate::all_from_pem(&crate::stdio::read(&a.cert)?).map_err(|e| e.in_file(&a.cert))?;
    let key = match &a.key {
        Some(path) => {
            let pass = inputs::passphrase(a.passphrase_file.as_deref())?;
            Some(PrivateKey::load(path, pass.as_ref())?)
        }
        None => None,
    };
    let mut report = verify_client_chain(&cas, &chain, key.as_ref(), None);
    if let Some(path) = &a.key {
        report = report.with_key_file(path, None);
    }
    if a.out.data() {
        a.out.print(&report)?;
    } else {
        print_verify(&report);
    }
    Ok(if report.ok {
        Outcome::Ok
    } else {
        Outcome::Problems
    })
}
