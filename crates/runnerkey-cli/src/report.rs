//! `inspect` and `verify`: reports in text or JSON.

use runnerkey::inspect::{CertificateInfo, Item, KeyDescription, inspect_file};
use runnerkey::verify::{VerifyReport, verify_client_cert};
use runnerkey::{Certificate, Error, PrivateKey, Result};

use crate::Outcome;
use crate::args::{InspectArgs, VerifyArgs};
use crate::inputs;

fn print_json<T: serde::Serialize>(value: &T) -> Result<()> {
    let text = serde_json::to_string_pretty(value)
        .map_err(|e| Error::InvalidArgument(format!("cannot encode JSON: {e}")))?;
    println!("{text}");
    Ok(())
}

fn key_text(k: &Option<KeyDescription>) -> String {
    match k {
        None => "unknown".into(),
        Some(k) => {
            let mut s = match k.curve {
                Some(c) => format!("{} {c}", k.algorithm),
                None if k.algorithm == "RSA" => format!("RSA {}", k.bits),
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
        v.iter().map(AsRef::as_ref).collect::<Vec<_>>().join(", ")
    }
}

fn print_certificate(c: &CertificateInfo) {
    println!("certificate");
    println!("  user (CN):        {}", c.user);
    println!("  groups (O):       {}", list(&c.groups));
    println!("  subject:          {}", c.subject);
    println!("  issuer:           {}", c.issuer);
    println!("  serial:           {}", c.serial);
    println!("  version:          v{}", c.version);
    println!("  not before:       {}", c.not_before);
    let left = if c.expired {
        format!("EXPIRED {} days ago", -c.days_left)
    } else {
        format!("{} days left", c.days_left)
    };
    println!("  not after:        {} ({left})", c.not_after);
    println!("  key:              {}", key_text(&c.key));
    println!("  signature:        {}", c.signature_algorithm);
    println!("  CA:               {}", if c.is_ca { "yes" } else { "no" });
    let ku = c
        .key_usage
        .as_ref()
        .map(|v| list(v))
        .unwrap_or_else(|| "(absent)".into());
    println!("  key usage:        {ku}");
    let eku = c
        .extended_key_usage
        .as_ref()
        .map(|v| list(v))
        .unwrap_or_else(|| "(absent: any purpose)".into());
    println!("  ext. key usage:   {eku}");
    if !c.subject_alt_names.is_empty() {
        println!("  alt. names:       {}", list(&c.subject_alt_names));
    }
    if let Some(s) = &c.subject_key_id {
        println!("  subject key id:   {s}");
    }
    if let Some(a) = &c.authority_key_id {
        println!("  authority key id: {a}");
    }
    println!("  SHA-256:          {}", c.sha256_fingerprint);
}

/// `runnerkey inspect`
pub fn inspect(a: &InspectArgs) -> Result<Outcome> {
    let pass = inputs::passphrase(a.passphrase_file.as_deref())?;
    let data = runnerkey::file::read(&a.file)?;
    let items = inspect_file(&data, pass.as_deref().map(Vec::as_slice), None)
        .map_err(|e| e.in_file(&a.file))?;
    if a.json {
        print_json(&items)?;
        return Ok(Outcome::Ok);
    }
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            println!();
        }
        match item {
            Item::Certificate(c) => print_certificate(c),
            Item::KubeconfigUser(u) => {
                println!(
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
                println!("certificate request (signature verified)");
                println!("  user (CN):        {}", r.user);
                println!("  groups (O):       {}", list(&r.groups));
                println!("  subject:          {}", r.subject);
                println!("  key:              {}", key_text(&r.key));
            }
            Item::PrivateKey(k) => {
                println!("private key (contents not shown)");
                println!(
                    "  format:           {}",
                    serde_json::to_value(k.format)
                        .ok()
                        .and_then(|v| v.as_str().map(String::from))
                        .unwrap_or_default()
                );
                println!("  key:              {}", key_text(&k.key));
                if let Some(fp) = k.key.as_ref().and_then(|k| k.public_key_sha256.as_ref()) {
                    println!("  public key SHA-256: {fp}");
                }
                if let Some(n) = &k.note {
                    println!("  note:             {n}");
                }
            }
        }
    }
    Ok(Outcome::Ok)
}

fn print_verify(r: &VerifyReport) {
    let mark = if r.ok { "OK" } else { "FAILED" };
    println!("{mark}: {} for client authentication", r.subject);
    println!("  identity:  {}", r.identity);
    println!("  issuer:    {}", r.issuer);
    println!("  not after: {} ({} days left)", r.not_after, r.days_left);
    if let Some(s) = &r.signed_by {
        println!("  signed by: {s}");
    }
    if let Some(m) = r.key_matches {
        println!(
            "  key:       {}",
            if m { "matches" } else { "DOES NOT MATCH" }
        );
    }
    for p in &r.problems {
        println!("  ✗ [{}] {}", p.code, p.message);
    }
}

/// `runnerkey verify`
pub fn verify(a: &VerifyArgs) -> Result<Outcome> {
    let cas = Certificate::load_cas(&a.ca)?;
    let cert = Certificate::load(&a.cert)?;
    let key = match &a.key {
        Some(path) => {
            let pass = inputs::passphrase(a.passphrase_file.as_deref())?;
            Some(PrivateKey::load(path, pass.as_deref().map(Vec::as_slice))?)
        }
        None => None,
    };
    let report = verify_client_cert(&cas, &cert, key.as_ref(), None);
    if a.json {
        print_json(&report)?;
    } else {
        print_verify(&report);
    }
    Ok(if report.ok {
        Outcome::Ok
    } else {
        Outcome::Problems
    })
}
