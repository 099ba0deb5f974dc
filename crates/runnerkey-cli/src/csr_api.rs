//! `k8s-csr submit` and `k8s-csr approve`: the cluster's CSR API through a
//! kubeconfig.

use runnerkey::{
    CertificateRequest, CsrParams, Error, Identity, KeyAlgorithm, KubeContext, Lifetime,
    PrivateKey, Result, SubmitParams,
};

use crate::Outcome;
use crate::args::{ApiArgs, CsrApiArgs, K8sCsrApproveArgs, K8sCsrSubmitArgs};

pub(crate) fn context(a: &ApiArgs) -> Result<KubeContext> {
    let paths = match &a.kubeconfig {
        Some(f) => vec![f.clone()],
        None => runnerkey::default_kubeconfig_paths(),
    };
    let source = paths
        .iter()
        .map(|p| p.display().to_string())
        .collect::<Vec<_>>()
        .join(":");
    let mut context =
        runnerkey::load_kubeconfig(&paths)?.resolve_context(a.context.as_deref(), &source)?;
    accept_insecure(&mut context, a.insecure_skip_tls_verify);
    Ok(context)
}

/// Honours the context's insecure-skip-tls-verify when asked to, and says
/// so.
pub(crate) fn accept_insecure(context: &mut KubeContext, accept: bool) {
    if accept && context.insecure_skip_tls_verify {
        context.accept_insecure = true;
        crate::warn(&format!(
            "{}: the server's certificate is not checked (insecure-skip-tls-verify)",
            context.source
        ));
    }
}

// Here rather than in args.rs, which only declares what the command line
// holds: resolving it is this module's work.
impl CsrApiArgs {
    /// The kubeconfig context, approve and wait, when --kubeconfig is given.
    pub fn resolve(
        &self,
    ) -> runnerkey::Result<Option<(runnerkey::KubeContext, bool, std::time::Duration)>> {
        let Some(file) = &self.kubeconfig else {
            return Ok(None);
        };
        let source = file.display().to_string();
        let mut context = runnerkey::load_kubeconfig(std::slice::from_ref(file))?
            .resolve_context(self.context.as_deref(), &source)?;
        accept_insecure(&mut context, self.insecure_skip_tls_verify);
        let wait = runnerkey::Timeout::parse("wait", &self.wait)?.as_duration();
        Ok(Some((context, self.approve, wait)))
    }
}

/// Says a request's name as soon as it exists, so that a person (or a
/// script) can approve it while this command waits.
pub(crate) fn tell_progress(p: runnerkey::Progress<'_>) {
    match p {
        runnerkey::Progress::Submitted { name } => err!(
            "runnerkey: submitted CertificateSigningRequest {name}; waiting for its approval and certificate"
        ),
        runnerkey::Progress::Adopted { name } => err!(
            "runnerkey: waiting again for CertificateSigningRequest {name}, kept from an earlier run"
        ),
        _ => {}
    }
}

fn duration(text: &str) -> Result<std::time::Duration> {
    Ok(text.parse::<Lifetime>()?.as_duration())
}

/// `runnerkey k8s-csr submit`
pub fn submit(a: &K8sCsrSubmitArgs) -> Result<Outcome> {
    crate::stdio::refuse_for_secret(&a.key, "--key")?;
    // Where the two really land (links and `..` resolved): the certificate
    // must never replace the key.
    let land = |p: &std::path::Path| {
        let abs = std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf());
        std::fs::canonicalize(&abs).unwrap_or_else(|_| {
            match (
                abs.parent().and_then(|d| std::fs::canonicalize(d).ok()),
                abs.file_name(),
            ) {
                (Some(dir), Some(name)) => dir.join(name),
                _ => abs.clone(),
            }
        })
    };
    if land(&a.out) == land(&a.key) {
        return Err(Error::InvalidArgument(format!(
            "--out {} is the key file: the certificate goes elsewhere",
            a.out.display()
        )));
    }
    if !a.force && std::fs::symlink_metadata(&a.out).is_ok() {
        return Err(Error::Exists {
            path: a.out.clone(),
        });
    }
    let ctx = context(&a.api)?;
    let key = if std::fs::symlink_metadata(&a.key).is_ok() {
        PrivateKey::load(&a.key, None)?
    } else {
        let key = PrivateKey::generate(KeyAlgorithm::EcdsaP256)?;
        if let Some(dir) = a.key.parent().filter(|d| !d.as_os_str().is_empty()) {
            runnerkey::fs::create_dirs(dir, runnerkey::fs::Visibility::Private)?;
        }
        key.write(&a.key, false)?;
        key
    };
    let csr = match (&a.user, &a.csr) {
        (Some(user), None) => CertificateRequest::create(
            &key,
            &CsrParams::new(Identity::new(user.clone(), a.groups.clone())?),
        )?,
        (None, Some(path)) => {
            let csr = CertificateRequest::load(path)?;
            if !key.matches(&csr.public_key()?) {
                return Err(Error::KeyMismatch {
                    certificate: format!("the CSR {}", path.display()),
                }
                .in_file(&a.key));
            }
            csr
        }
        _ => {
            return Err(Error::InvalidArgument(
                "give --user NAME [--group G]…, or --csr FILE".into(),
            ));
        }
    };
    let mut params = SubmitParams::default();
    params.name = a.name.clone();
    params.generate_name = Some(a.generate_name.clone());
    params.expiration = a.expiration.as_deref().map(duration).transpose()?;
    params.approve = a.approve;
    params.wait = runnerkey::Timeout::parse("wait", &a.wait)?.as_duration();
    let done = params.run(ctx, &csr, &key)?;
    runnerkey::fs::write(
        &a.out,
        done.certificate.to_pem().as_bytes(),
        runnerkey::fs::Visibility::Public,
        a.force,
    )?;
    if a.format.data() {
        a.format.print(&serde_json::json!({
            "submitted": &done,
            "user": done.certificate.subject_reading().user,
            "groups": done.certificate.subject_reading().groups,
            "out": &a.out,
        }))?;
    } else {
        out!(
            "CertificateSigningRequest {}{}: issued {} valid until {}",
            done.name,
            if done.approved_here {
                " (approved here)"
            } else {
                ""
            },
            done.certificate.subject_reading(),
            crate::term::rfc3339(done.not_after)
        );
        out!("  wrote {}", a.out.display());
    }
    if done.clamped {
        crate::warn(&format!(
            "the signer issued it for less than the --expiration asked: it ends on {} (the cluster's --cluster-signing-duration); renew accordingly",
            crate::term::rfc3339(done.not_after)
        ));
    }
    if !done.deleted {
        crate::warn(&format!(
            "could not delete CertificateSigningRequest {} (it expires on its own)",
            done.name
        ));
    }
    Ok(Outcome::Ok)
}

/// `runnerkey k8s-csr approve`
pub fn approve(a: &K8sCsrApproveArgs) -> Result<Outcome> {
    let expected = a
        .expect_user
        .as_ref()
        .map(|u| Identity::new(u.clone(), a.expect_groups.clone()))
        .transpose()?;
    let approved = runnerkey::approve_csr(
        context(&a.api)?,
        &a.name,
        expected.as_ref(),
        a.deny,
        std::time::Duration::from_secs(30),
    )?;
    if a.out.data() {
        a.out.print(&serde_json::json!({
            "name": &a.name,
            "approved": true,
            "user": approved.user(),
            "groups": approved.groups(),
        }))?;
    } else {
        out!(
            "approved CertificateSigningRequest {} for {approved}",
            a.name
        );
    }
    Ok(Outcome::Ok)
}
