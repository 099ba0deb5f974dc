//! `runnerkey demo`: the whole procedure on a throwaway CA, no cluster.

use runnerkey::verify::verify_client_cert;
use runnerkey::{
    CaParams, CertificateAuthority, ClientFiles, Error, Identity, IssueParams, KeyAlgorithm, Result,
};

use crate::Outcome;
use crate::args::DemoArgs;

/// `runnerkey demo`
pub fn run(a: &DemoArgs) -> Result<Outcome> {
    let pki = a.dir.join("pki");
    let out = a.dir.join("ssl");
    for d in [&pki, &out] {
        std::fs::create_dir_all(d).map_err(|source| Error::Io {
            path: d.clone(),
            source,
        })?;
    }
    println!("runnerkey demo in {}", a.dir.display());
    let ca = CertificateAuthority::generate(&CaParams::default())?;
    ca.write_kubeadm(&pki, true)?;
    println!(
        "1. made a throwaway cluster CA like kubeadm's: {}/ca.crt, ca.key",
        pki.display()
    );
    let who = Identity::new("gitlab-admin", ["gitlab-runners"])?;
    let (key, issued) = ca.issue(&who, KeyAlgorithm::EcdsaP256, &IssueParams::default())?;
    let files = ClientFiles::in_dir(&out, &who.user);
    files.write(&key, &issued.certificate, ca.certificate(), true)?;
    println!(
        "2. issued a client certificate for {} ({}), valid until {}",
        who,
        key.key_type(),
        runnerkey::lifetime::rfc3339(issued.certificate.not_after())
    );
    println!("   key_file  = {} (mode 0600)", files.key_file.display());
    println!("   cert_file = {}", files.cert_file.display());
    println!("   ca_file   = {}", files.ca_file.display());
    let report = verify_client_cert(
        std::slice::from_ref(ca.certificate()),
        &issued.certificate,
        Some(&key),
        None,
    );
    if report.ok {
        println!("3. verified: accepted for client authentication by the CA, key matches");
        Ok(Outcome::Ok)
    } else {
        for p in &report.problems {
            println!("3. ✗ [{}] {}", p.code, p.message);
        }
        Ok(Outcome::Problems)
    }
}
