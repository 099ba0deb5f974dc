//! Criterion benchmarks of the PKI operations: key generation, CSR
//! creation, signing and inspect. Run: `cargo bench -p runnerkey --bench pki`.
#![allow(missing_docs)]

use criterion::{Criterion, criterion_group, criterion_main};
use runnerkey::inspect::inspect_pem;
use runnerkey::{
    CaParams, CertificateAuthority, CertificateRequest, CsrParams, Identity, IssueParams,
    KeyAlgorithm, PrivateKey,
};

fn ca(alg: KeyAlgorithm) -> CertificateAuthority {
    CertificateAuthority::generate(&{
        let mut p = CaParams::default();
        p.algorithm = alg;
        p
    })
    .unwrap()
}

fn benches(c: &mut Criterion) {
    let who = Identity::new("gitlab-admin", ["gitlab-runners"]).unwrap();
    let mut g = c.benchmark_group("keygen");
    for alg in [
        KeyAlgorithm::EcdsaP256,
        KeyAlgorithm::EcdsaP384,
        KeyAlgorithm::Ed25519,
        KeyAlgorithm::Rsa2048,
    ] {
        if alg == KeyAlgorithm::Rsa2048 {
            g.sample_size(10);
        }
        g.bench_function(alg.name(), |b| {
            b.iter(|| PrivateKey::generate(alg).unwrap())
        });
    }
    g.finish();

    let key = PrivateKey::generate(KeyAlgorithm::EcdsaP256).unwrap();
    c.bench_function("csr/create-p256", |b| {
        b.iter(|| CertificateRequest::create(&key, &CsrParams::new(who.clone())).unwrap())
    });

    let csr = CertificateRequest::create(&key, &CsrParams::new(who.clone())).unwrap();
    let params = IssueParams::default();
    for (name, alg) in [
        ("rsa2048-ca", KeyAlgorithm::Rsa2048),
        ("p256-ca", KeyAlgorithm::EcdsaP256),
    ] {
        let ca = ca(alg);
        c.bench_function(&format!("sign/p256-leaf/{name}"), |b| {
            b.iter(|| ca.sign(&csr, &params).unwrap())
        });
        c.bench_function(&format!("issue/p256-leaf/{name}"), |b| {
            b.iter(|| ca.issue(&who, KeyAlgorithm::EcdsaP256, &params).unwrap())
        });
    }

    let ca = ca(KeyAlgorithm::Rsa2048);
    let issued = ca.sign(&csr, &params).unwrap();
    let pem = issued.certificate.to_pem();
    c.bench_function("inspect/certificate", |b| {
        b.iter(|| inspect_pem(pem.as_bytes(), None, None).unwrap())
    });
}

criterion_group!(pki, benches);
criterion_main!(pki);
