//! Times in-library issuance against the raw aws-lc-rs operations it is
//! made of (one key generation, one CA signature) for the workloads of
//! `benches/compare.py`, and prints JSON. Build with `--release`.
//!
//! Usage: `issue_timing W1|W2|W3 [ITERATIONS]`

use std::hint::black_box;
use std::time::Instant;

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{self, EcdsaKeyPair, KeyPair as _, RsaKeyPair};
use runnerkey::{CaParams, CertificateAuthority, Identity, IssueParams, KeyAlgorithm};

fn per_op(n: u32, mut f: impl FnMut()) -> f64 {
    for _ in 0..n.min(20) {
        f();
    }
    let start = Instant::now();
    for _ in 0..n {
        f();
    }
    start.elapsed().as_secs_f64() * 1e6 / f64::from(n)
}

fn main() {
    let mut args = std::env::args().skip(1);
    let workload = args.next().unwrap_or_else(|| "W2".into());
    let n: u32 = args.next().and_then(|s| s.parse().ok()).unwrap_or(200);
    let (leaf, ca_alg) = match workload.as_str() {
        "W1" => (KeyAlgorithm::Rsa2048, KeyAlgorithm::Rsa2048),
        "W2" => (KeyAlgorithm::EcdsaP256, KeyAlgorithm::Rsa2048),
        "W3" => (KeyAlgorithm::EcdsaP256, KeyAlgorithm::EcdsaP256),
        other => panic!("unknown workload {other}"),
    };
    let n = if leaf == KeyAlgorithm::Rsa2048 {
        n.min(30)
    } else {
        n
    };
    let ca = CertificateAuthority::generate(&{
        let mut p = CaParams::default();
        p.algorithm = ca_alg;
        p
    })
    .expect("CA");
    let who = Identity::new("gitlab-admin", ["gitlab-runners"]).expect("identity");
    let params = IssueParams::default();
    let issue_us = per_op(n, || {
        black_box(ca.issue(&who, leaf, &params).expect("issue"));
    });

    let rng = SystemRandom::new();
    let keygen_us = per_op(n, || match leaf {
        KeyAlgorithm::Rsa2048 => {
            black_box(RsaKeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048).expect("rsa"));
        }
        _ => {
            black_box(
                EcdsaKeyPair::generate(&signature::ECDSA_P256_SHA256_ASN1_SIGNING).expect("ec"),
            );
        }
    });
    let tbs = vec![0x5au8; 420];
    let sign_us = match ca_alg {
        KeyAlgorithm::Rsa2048 => {
            let k = RsaKeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048).expect("rsa");
            let mut sig = vec![0u8; k.public_modulus_len()];
            per_op(n, || {
                k.sign(&signature::RSA_PKCS1_SHA256, &rng, &tbs, &mut sig)
                    .expect("sign");
            })
        }
        _ => {
            let k = EcdsaKeyPair::generate(&signature::ECDSA_P256_SHA256_ASN1_SIGNING).expect("ec");
            let _ = k.public_key();
            per_op(n, || {
                black_box(k.sign(&rng, &tbs).expect("sign"));
            })
        }
    };
    let crypto = keygen_us + sign_us;
    println!(
        "{{\"workload\":\"{workload}\",\"iterations\":{n},\"issue_us\":{issue_us:.1},\"keygen_us\":{keygen_us:.1},\"sign_us\":{sign_us:.1},\"crypto_us\":{crypto:.1},\"ratio\":{:.3}}}",
        issue_us / crypto
    );
}
