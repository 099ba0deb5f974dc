//! `ca init`, `key generate`, `csr create`, `csr sign`, `issue`.

use std::path::Path;

use runnerkey::{
    CaParams, CertificateAuthority, CertificateRequest, ClientFiles, CsrParams, EnsureParams,
    EnsureReport, Issued, Lifetime, PrivateKey, Result,
};

use crate::Outcome;
use crate::args::{CaInitArgs, CsrCreateArgs, CsrSignArgs, IssueArgs, KeyGenerateArgs};
use crate::inputs;

/// A directory for keys: 0700 whatever the umask.
fn create_dir(dir: &Path) -> Result<()> {
    runnerkey::fs::create_dirs(dir, runnerkey::fs::Visibility::Private).map(|_| ())
}

fn print_issued(issued: &Issued) {
    for w in &issued.warnings {
        crate::warn(w);
    }
}

/// `issue --keep-valid`: what was kept, issued or would be.
fn print_ensured(r: &EnsureReport, out: &crate::args::OutputArgs) -> Result<Outcome> {
    for w in &r.warnings {
        crate::warn(w);
    }
    if out.data() {
        out.print(r)?;
        return Ok(Outcome::Ok);
    }
    if !r.changed {
        out!("nothing to do: the key and certificate are valid and in place");
    } else if r.dry_run {
        out!("dry run: nothing written; this is the plan");
    }
    out!(
        "certificate: {} valid until {} — {}",
        r.subject,
        crate::term::rfc3339(r.not_after),
        r.note
    );
    crate::setup::print_files(&r.files);
    Ok(Outcome::Ok)
}

/// `runnerkey ca init`
pub fn ca_init(a: &CaInitArgs) -> Result<Outcome> {
    let params = {
        let mut p = CaParams::default();
        p.common_name = a.cn.clone();
        p.algorithm = inputs::algorithm(&a.algorithm)?;
        p.lifetime = Lifetime::days(a.days);
        p
    };
    let ca = CertificateAuthority::generate(&params)?;
    create_dir(&a.out_dir)?;
    for path in ca.write_kubeadm(&a.out_dir, a.force)? {
        out!("wrote {}", path.display());
    }
    out!(
        "CA {} valid until {}",
        ca.certificate().subject(),
        crate::term::rfc3339(ca.certificate().not_after())
    );
    Ok(Outcome::Ok)
}

/// Warns about directories above a key that others may write to.
fn warn_writable_dirs(key: &Path) {
    for (dir, mode) in runnerkey::fs::writable_ancestors(key) {
        crate::warn(&format!(
            "{} (mode {mode:o}) above {} is writable by group or others: they could swap the key",
            dir.display(),
            key.display()
        ));
    }
}

/// `runnerkey key generate`
pub fn key_generate(a: &KeyGenerateArgs) -> Result<Outcome> {
    let key = PrivateKey::generate(inputs::algorithm(&a.algorithm)?)?;
    crate::stdio::refuse_for_secret(&a.out, "the key")?;
    key.write(&a.out, a.force)?;
    warn_writable_dirs(&a.out);
    out!("wrote {} ({}, mode 0600)", a.out.display(), key.key_type());
    Ok(Outcome::Ok)
}

/// `runnerkey csr create`
pub fn csr_create(a: &CsrCreateArgs) -> Result<Outcome> {
    let identity = inputs::identity(&a.identity)?;
    let pass = inputs::passphrase(a.passphrase_file.as_deref())?;
    let key = PrivateKey::load(&a.key, pass.as_ref())?;
    let csr = CertificateRequest::create(&key, &{
        let mut p = CsrParams::new(identity);
        p.allow_system_masters = a.identity.allow_system_masters;
        p
    })?;
    if crate::stdio::write_public(&a.out, &csr.to_pem(), a.force)? {
        out!("wrote {} for {}", a.out.display(), csr.subject_reading());
    }
    Ok(Outcome::Ok)
}

/// `runnerkey csr sign`
pub fn csr_sign(a: &CsrSignArgs) -> Result<Outcome> {
    let csr = CertificateRequest::from_pem(&crate::stdio::read(&a.csr_file)?)
        .map_err(|e| e.in_file(&a.csr_file))?;
    let params = inputs::issue_params(&a.lifetime, a.allow_system_masters)?;
    let ca = inputs::ca(&a.ca)?;
    if !crate::stdio::is_dash(&a.out) {
        ca.check_output(&a.out)?;
    }
    // With an intermediate CA, the chain above it follows the leaf.
    let (chain, _) = ca.client_chain()?;
    let issued = ca.sign(&csr, &params).map_err(|e| e.in_file(&a.csr_file))?;
    print_issued(&issued);
    let pem: String = std::iter::once(&issued.certificate)
        .chain(&chain)
        .map(runnerkey::Certificate::to_pem)
        .collect();
    if crate::stdio::write_public(&a.out, &pem, a.force)? {
        out!(
            "wrote {} for {}, valid until {}",
            a.out.display(),
            issued.certificate.subject_reading(),
            crate::term::rfc3339(issued.certificate.not_after())
        );
    }
    Ok(Outcome::Ok)
}

/// `runnerkey issue`
pub fn issue(a: &IssueArgs) -> Result<Outcome> {
    if let Some(batch) = &a.batch {
        return crate::batch::issue(a, batch);
    }
    let (Some(user), Some(out_dir)) = (&a.user, &a.out_dir) else {
        return Err(runnerkey::Error::InvalidArgument(
            "give --user and --out-dir, or --batch FILE".into(),
        ));
    };
    let identity = runnerkey::Identity::new(user.clone(), a.groups.clone())?;
    identity.check_system_masters(a.allow_system_masters)?;
    let algorithm = inputs::algorithm(&a.algorithm)?;
    let params = inputs::issue_params(&a.lifetime, a.allow_system_masters)?;
    let basename = a
        .name
        .clone()
        .unwrap_or_else(|| identity.user().to_string());
    let files = ClientFiles::in_dir(out_dir, &basename)?;
    let ca = inputs::ca(&a.ca)?;
    if a.keep_valid {
        let mut ensure = EnsureParams::new(identity);
        ensure.algorithm = algorithm;
        ensure.lifetime = params.lifetime;
        ensure.renewal =
            runnerkey::RenewalPolicy::from_options(a.renew_at, a.renew_before.as_deref())?;
        ensure.force = a.force;
        ensure.dry_run = a.dry_run;
        ensure.allow_system_masters = a.allow_system_masters;
        let report = ensure.run(&ca, &files)?;
        return print_ensured(&report, &a.out);
    }
    files.check_not_ca(&ca)?;
    files.check_free(ca.certificate(), a.force)?;
    let (key, issued) = ca.issue(&identity, algorithm, &params)?;
    files.write_issued(&key, &issued.certificate, &ca, a.force)?;
    warn_writable_dirs(&files.key_file);
    print_issued(&issued);
    if a.out.data() {
        let id = issued.certificate.subject_reading();
        a.out.print(&serde_json::json!({
            "user": id.user,
            "groups": id.groups,
            "key_type": key.key_type().to_string(),
            "not_before": crate::term::rfc3339(issued.certificate.not_before()),
            "not_after": crate::term::rfc3339(issued.certificate.not_after()),
            "key_file": files.key_file,
            "cert_file": files.cert_file,
            "ca_file": files.ca_file,
        }))?;
        return Ok(Outcome::Ok);
    }
    out!(
        "issued {} ({}), valid until {}",
        issued.certificate.subject_reading(),
        key.key_type(),
        crate::term::rfc3339(issued.certificate.not_after())
    );
    out!("  key_file  = {}  (mode 0600)", files.key_file.display());
    out!("  cert_file = {}", files.cert_file.display());
    out!("  ca_file   = {}", files.ca_file.display());
    Ok(Outcome::Ok)
}
