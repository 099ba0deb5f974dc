//! `rbac`, `kubeconfig`, `k8s-csr create|import`.

use runnerkey::k8s_csr::{K8sCsr, K8sCsrParams};
use runnerkey::kubeconfig::{Kubeconfig, KubeconfigParams};
use runnerkey::rbac::{ExecutorFeature, RbacParams, RbacSubject};
use runnerkey::{CertificateRequest, CsrParams, Error, Identity, Lifetime, PrivateKey, Result};

use crate::Outcome;
use crate::args::{Format, K8sCsrCreateArgs, K8sCsrImportArgs, KubeconfigArgs, RbacArgs};

/// `runnerkey rbac`
pub fn rbac(a: &RbacArgs) -> Result<Outcome> {
    let subject = match (&a.user, &a.service_account, a.groups.as_slice()) {
        (Some(user), None, _) => RbacSubject::User(Identity::new(user.clone(), a.groups.clone())?),
        (None, Some(sa), []) => RbacSubject::ServiceAccount(sa.clone()),
        (None, None, [group]) => RbacSubject::group(group)?,
        _ => {
            return Err(Error::InvalidArgument(
                "give --user NAME (and its --group G), --group G alone, or --service-account NAMESPACE/NAME".into(),
            ));
        }
    };
    let mut params = RbacParams::new(subject, a.profile.parse()?);
    params.namespace = a.namespace.clone();
    params.with_token_secret = a.with_token_secret;
    params.with_namespaces = !a.no_namespaces;
    for f in &a.with_features {
        params.features.insert(f.parse::<ExecutorFeature>()?);
    }
    for f in &a.without_features {
        params.features.remove(&f.parse::<ExecutorFeature>()?);
    }
    let manifests = params.manifests()?;
    for w in &manifests.warnings {
        crate::warn(w);
    }
    match a.output {
        Format::Yaml => out_raw!("{}", manifests.to_yaml()?),
        Format::Json => out_raw!("{}", manifests.to_json()?),
    }
    Ok(Outcome::Ok)
}

/// `runnerkey kubeconfig`
pub fn kubeconfig(a: &KubeconfigArgs) -> Result<Outcome> {
    let mut params = KubeconfigParams::new(&a.server, &a.ca, &a.cert, &a.key);
    params.user = a.user.clone();
    params.cluster = Some(a.cluster.clone());
    params.reference_files = a.reference_files;
    let config = Kubeconfig::new(&params)?;
    if crate::stdio::is_dash(&a.out) {
        if !a.reference_files {
            crate::stdio::refuse_for_secret(&a.out, "a kubeconfig with the key embedded")?;
        }
        crate::term::write_raw(&config.to_yaml()?);
        return Ok(Outcome::Ok);
    }
    config.write(&a.out, a.force)?;
    out!(
        "wrote {} (context {}, mode 0600); try: kubectl --kubeconfig {} version",
        a.out.display(),
        config.current_context,
        a.out.display()
    );
    Ok(Outcome::Ok)
}

/// `runnerkey k8s-csr create`
pub fn k8s_csr_create(a: &K8sCsrCreateArgs) -> Result<Outcome> {
    let csr = match (&a.key, &a.csr) {
        (Some(key), None) => {
            let user = a
                .user
                .clone()
                .ok_or_else(|| Error::InvalidArgument("--key needs --user NAME".into()))?;
            let identity = Identity::new(user, a.groups.clone())?;
            let key = PrivateKey::load(key, None)?;
            CertificateRequest::create(&key, &{
                let mut p = CsrParams::new(identity);
                p.allow_system_masters = a.allow_system_masters;
                p
            })?
        }
        (None, Some(path)) => CertificateRequest::load(path)?,
        _ => {
            return Err(Error::InvalidArgument(
                "give --key FILE --user NAME, or --csr FILE".into(),
            ));
        }
    };
    let expiration = a
        .expiration
        .as_deref()
        .map(|e| e.parse::<Lifetime>().map(|l| l.as_duration()))
        .transpose()?;
    let object = K8sCsr::new(&csr, &{
        let mut p = K8sCsrParams::new(&a.name);
        p.expiration = expiration;
        p.allow_system_masters = a.allow_system_masters;
        p
    })?;
    match a.output {
        Format::Yaml => out_raw!("{}", object.to_yaml()?),
        Format::Json => out_raw!("{}", object.to_json()?),
    }
    err!(
        "runnerkey: next: kubectl apply -f -, then kubectl certificate approve {}, then kubectl get csr {} -o json | runnerkey k8s-csr import --from - --key KEY --out CERT",
        a.name,
        a.name
    );
    Ok(Outcome::Ok)
}

/// `runnerkey k8s-csr import`
pub fn k8s_csr_import(a: &K8sCsrImportArgs) -> Result<Outcome> {
    let object = if a.from == "-" {
        let data = runnerkey::fs::read_from(std::io::stdin().lock(), "<stdin>")?;
        K8sCsr::parse(&String::from_utf8_lossy(&data)).map_err(|e| e.in_file("<stdin>"))?
    } else {
        K8sCsr::load(std::path::Path::new(&a.from))?
    };
    let key = PrivateKey::load(&a.key, None)?;
    let cert = object.issued_certificate(&key)?;
    if crate::stdio::write_public(&a.out, &cert.to_pem(), a.force)? {
        out!(
            "wrote {}: {} issued by {}, valid until {}",
            a.out.display(),
            cert.subject_reading(),
            cert.issuer(),
            crate::term::rfc3339(cert.not_after())
        );
    }
    Ok(Outcome::Ok)
}
