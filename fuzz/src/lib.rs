//! Mutation fuzzing of runnerkey's input parsers on the stable toolchain
//! (libFuzzer needs a nightly compiler, which cannot be installed here).
//! Each target starts from valid seeds, mutates them (bytes, DER inside
//! PEM, TOML/YAML tokens, splices), and feeds the result to the library;
//! any panic is a crash. Errors are the expected outcome for bad input.

use std::panic::{AssertUnwindSafe, catch_unwind};

use base64::Engine as _;
use runnerkey::k8s_csr::K8sCsr;
use runnerkey::kubeconfig::Kubeconfig;
use runnerkey::runner_config::lint::LintOptions;
use runnerkey::runner_config::{Change, KubeKey, RunnerConfig, RunnerSelector};
use runnerkey::verify::verify_client_chain;
use runnerkey::{
    CaParams, Certificate, CertificateAuthority, CertificateRequest, CsrParams, Identity,
    IssueParams, KeyAlgorithm, PrivateKey,
};

/// A small, fast, seeded random source (xorshift64*).
pub struct Rng(u64);

impl Rng {
    /// Seeded (0 is replaced).
    pub fn new(seed: u64) -> Self {
        Self(seed.max(1))
    }

    /// The next value.
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// A value below `n` (`n` > 0).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n.max(1) as u64) as usize
    }
}

/// The fuzz targets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    /// PEM/DER certificates: parse, inspect, verify.
    Cert,
    /// PKCS#10 CSRs: parse, self-signature, subject reading, signing.
    Csr,
    /// Private keys in every format, encrypted ones with a passphrase.
    Key,
    /// kubeconfig YAML.
    Kubeconfig,
    /// config.toml: parse, set, lint, diff.
    Config,
    /// `kubectl get csr -o json|yaml` import.
    K8sCsr,
}

impl Target {
    /// Every target.
    pub const ALL: [Target; 6] = [
        Target::Cert,
        Target::Csr,
        Target::Key,
        Target::Kubeconfig,
        Target::Config,
        Target::K8sCsr,
    ];

    /// Its command-line name.
    pub fn name(self) -> &'static str {
        match self {
            Target::Cert => "cert",
            Target::Csr => "csr",
            Target::Key => "key",
            Target::Kubeconfig => "kubeconfig",
            Target::Config => "config",
            Target::K8sCsr => "k8s-csr",
        }
    }

    /// By name.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.name() == name)
    }

    /// Whether the inputs are text (TOML/YAML) rather than PEM.
    fn textual(self) -> bool {
        matches!(self, Target::Kubeconfig | Target::Config | Target::K8sCsr)
    }
}

/// Valid inputs to start from, and what the targets need beside them.
pub struct Seeds {
    inputs: Vec<Vec<u8>>,
    ca: CertificateAuthority,
    key: PrivateKey,
}

const FIXTURE_PEMS: &[&str] = &[
    include_str!("../../tests/fixtures/pki/kubeadm-ca-rsa2048.crt.pem"),
    include_str!("../../tests/fixtures/pki/kubeadm-client-expired-system-masters.crt.pem"),
    include_str!("../../tests/fixtures/pki/openssl-ca-x509v1-no-extensions.crt.pem"),
    include_str!("../../tests/fixtures/pki/kubeadm-apiserver-serving-ip-sans-expired.crt.pem"),
    include_str!("../../tests/fixtures/pki/ec-p256-sec1-with-ec-parameters.key.pem"),
    include_str!("../../tests/fixtures/pki/ec-p384-sec1.key.pem"),
    include_str!("../../tests/fixtures/pki/rsa2048-pkcs1.key.pem"),
    include_str!("../../tests/fixtures/pki/rsa-pkcs8-encrypted.key.pem"),
    include_str!("../seeds/pbes2-aes256.key.pem"),
];

const FIXTURE_CONFIGS: &[&str] = &[
    include_str!("../../tests/fixtures/runner-configs/gitlabhq_gitlab-runner_register-merged.toml"),
    include_str!(
        "../../tests/fixtures/runner-configs/gitlabhq_gitlab-runner_docs-k8s-host-certs.toml"
    ),
    include_str!(
        "../../tests/fixtures/runner-configs/juxuny_k8s-gitlab-runner_config-template.toml"
    ),
    include_str!(
        "../../tests/fixtures/runner-configs/DoD-Platform-One_gitlab-runner_chart-0.86.0-default.toml"
    ),
];

impl Seeds {
    /// Seeds for `target`, made with the library and taken from fixtures.
    pub fn new(target: Target) -> Self {
        let ca = CertificateAuthority::generate(&{
            let mut p = CaParams::default();
            p.algorithm = KeyAlgorithm::EcdsaP256;
            p
        })
        .expect("a CA");
        let who = Identity::new("gitlab-admin", ["gitlab-runners"]).expect("a name");
        let (key, issued) = ca
            .issue(&who, KeyAlgorithm::EcdsaP256, &IssueParams::default())
            .expect("a certificate");
        let csr = CertificateRequest::create(&key, &CsrParams::new(who)).expect("a CSR");
        let cert_pem = issued.certificate.to_pem();
        let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
        let mut inputs: Vec<Vec<u8>> = match target {
            Target::Cert => {
                let mut v: Vec<Vec<u8>> = FIXTURE_PEMS
                    .iter()
                    .filter(|s| s.contains("CERTIFICATE-----"))
                    .map(|s| s.as_bytes().to_vec())
                    .collect();
                v.push(cert_pem.clone().into_bytes());
                v.push(format!("{cert_pem}{}", ca.certificate().to_pem()).into_bytes());
                v
            }
            Target::Csr => [
                KeyAlgorithm::EcdsaP256,
                KeyAlgorithm::EcdsaP384,
                KeyAlgorithm::Ed25519,
                KeyAlgorithm::Rsa2048,
            ]
            .into_iter()
            .map(|alg| {
                let k = PrivateKey::generate(alg).expect("a key");
                let id = Identity::new("u", ["g1", "g2"]).expect("a name");
                CertificateRequest::create(&k, &CsrParams::new(id))
                    .expect("a CSR")
                    .to_pem()
                    .into_bytes()
            })
            .chain(std::iter::once(csr.to_pem().into_bytes()))
            .collect(),
            Target::Key => {
                let mut v: Vec<Vec<u8>> = FIXTURE_PEMS
                    .iter()
                    .filter(|s| s.contains("PRIVATE KEY-----"))
                    .map(|s| s.as_bytes().to_vec())
                    .collect();
                v.push(key.to_pem().as_bytes().to_vec());
                v
            }
            Target::Config => FIXTURE_CONFIGS.iter().map(|s| s.as_bytes().to_vec()).collect(),
            Target::Kubeconfig => vec![
                format!(
                    "apiVersion: v1\nkind: Config\ncurrent-context: c\nclusters:\n- name: k\n  cluster:\n    server: https://10.0.0.1:6443\n    certificate-authority-data: {}\ncontexts:\n- name: c\n  context: {{cluster: k, user: u}}\nusers:\n- name: u\n  user:\n    client-certificate-data: {}\n    client-key: /etc/k.key\n",
                    b64(&ca.certificate().to_pem()),
                    b64(&cert_pem)
                )
                .into_bytes(),
            ],
            Target::K8sCsr => vec![
                format!(
                    "{{\"apiVersion\":\"certificates.k8s.io/v1\",\"kind\":\"CertificateSigningRequest\",\"metadata\":{{\"name\":\"x\"}},\"spec\":{{\"request\":\"{}\",\"signerName\":\"kubernetes.io/kube-apiserver-client\",\"usages\":[\"client auth\"]}},\"status\":{{\"conditions\":[{{\"type\":\"Approved\",\"status\":\"True\",\"reason\":\"r\",\"message\":\"m\"}}],\"certificate\":\"{}\"}}}}",
                    b64(&csr.to_pem()),
                    b64(&cert_pem)
                )
                .into_bytes(),
                format!(
                    "apiVersion: certificates.k8s.io/v1\nkind: CertificateSigningRequest\nmetadata:\n  name: x\nspec:\n  request: {}\n  signerName: kubernetes.io/kube-apiserver-client\n  usages: [client auth]\nstatus:\n  conditions:\n  - type: Denied\n    status: \"True\"\n",
                    b64(&csr.to_pem())
                )
                .into_bytes(),
            ],
        };
        inputs.retain(|i| !i.is_empty());
        Self { inputs, ca, key }
    }
}

const TEXT_TOKENS: &[&str] = &[
    "[",
    "]",
    "{",
    "}",
    "\"",
    "'",
    "'''",
    "\"\"\"",
    "\n",
    "=",
    ",",
    ".",
    ":",
    "- ",
    "[[runners]]\n",
    "[runners.kubernetes]\n",
    "kubernetes = {",
    "host = ",
    "\\u202e",
    "\u{202e}",
    "\x1b",
    "\0",
    "&a ",
    "*a",
    "!!binary ",
    "0x",
    "1e999",
    "-",
    "#",
    "    ",
    "\r\n",
];

const DER_BYTES: &[u8] = &[
    0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x0c, 0x13, 0x16, 0x1e, 0x30, 0x31, 0x7f, 0x80, 0x81,
    0x82, 0x83, 0x84, 0xa0, 0xa3, 0xff,
];

fn mutate_bytes(data: &mut Vec<u8>, rng: &mut Rng, other: &[u8], textual: bool) {
    // Mostly one change, now and then a few: small steps keep inputs close
    // enough to valid to reach the code behind the first checks.
    let rounds = if rng.below(4) == 0 {
        2 + rng.below(4)
    } else {
        1
    };
    for _ in 0..rounds {
        let len = data.len();
        match rng.below(8) {
            0 if len > 0 => {
                let i = rng.below(len);
                data[i] ^= 1 << rng.below(8);
            }
            1 if len > 0 => {
                let i = rng.below(len);
                data[i] = if textual {
                    b" []{}\"'=,.:-#\n\\"[rng.below(15)]
                } else {
                    DER_BYTES[rng.below(DER_BYTES.len())]
                };
            }
            2 => {
                let i = rng.below(len + 1);
                let token: Vec<u8> = if textual {
                    TEXT_TOKENS[rng.below(TEXT_TOKENS.len())]
                        .as_bytes()
                        .to_vec()
                } else {
                    (0..=rng.below(4))
                        .map(|_| DER_BYTES[rng.below(DER_BYTES.len())])
                        .collect()
                };
                data.splice(i..i, token);
            }
            3 if len > 1 => {
                let a = rng.below(len);
                let b = (a + 1 + rng.below(64)).min(len);
                data.drain(a..b);
            }
            4 if len > 1 => {
                let a = rng.below(len);
                let b = (a + 1 + rng.below(64)).min(len);
                let copy = data[a..b].to_vec();
                let at = rng.below(len);
                data.splice(at..at, copy);
            }
            5 if !other.is_empty() => {
                let a = rng.below(other.len());
                let b = (a + 1 + rng.below(256)).min(other.len());
                let at = rng.below(len + 1);
                data.splice(at..at, other[a..b].iter().copied());
            }
            6 if len > 0 => data.truncate(rng.below(len)),
            _ => {
                let i = rng.below(len + 1);
                let n = rng.below(8) + 1;
                let byte = rng.next_u64() as u8;
                data.splice(i..i, std::iter::repeat_n(byte, n));
            }
        }
    }
}

/// One mutated input for `target` from the seeds (DER is mutated inside
/// its PEM armour, so the parsers behind the PEM layer are reached).
pub fn mutated(seeds: &Seeds, target: Target, rng: &mut Rng) -> Vec<u8> {
    let base = &seeds.inputs[rng.below(seeds.inputs.len())];
    let other = &seeds.inputs[rng.below(seeds.inputs.len())];
    if !target.textual()
        && rng.below(4) != 0
        && let Ok(blocks) = pem::parse_many(base)
        && !blocks.is_empty()
    {
        let mut out = Vec::new();
        let pick = rng.below(blocks.len());
        for (i, b) in blocks.iter().enumerate() {
            let mut der = b.contents().to_vec();
            if i == pick {
                mutate_bytes(&mut der, rng, other, false);
            }
            out.extend(pem::encode(&pem::Pem::new(b.tag(), der)).into_bytes());
        }
        return out;
    }
    let mut data = base.clone();
    mutate_bytes(&mut data, rng, other, target.textual());
    data
}

/// Runs `target` on one input: whether its first parser accepted it
/// (errors are fine), or the message of a panic (a crash).
pub fn run_one(target: Target, seeds: &Seeds, data: &[u8]) -> Result<bool, String> {
    catch_unwind(AssertUnwindSafe(|| exercise(target, seeds, data))).map_err(|p| {
        p.downcast_ref::<String>()
            .cloned()
            .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_else(|| "panic".into())
    })
}

fn exercise(target: Target, seeds: &Seeds, data: &[u8]) -> bool {
    let text = String::from_utf8_lossy(data);
    match target {
        Target::Cert => {
            let _ = Certificate::from_der(data);
            let Ok(chain) = Certificate::all_from_pem(data) else {
                return false;
            };
            let _ = runnerkey::inspect::inspect_pem(data, None, None);
            let _ = verify_client_chain(&chain, &chain, Some(&seeds.key), None);
            for c in &chain {
                let _ = c.subject_reading();
                let _ = (
                    c.subject(),
                    c.issuer(),
                    c.subject_alt_names(),
                    c.key_usage(),
                );
            }
            true
        }
        Target::Csr => {
            let _ = CertificateRequest::from_der(data);
            let Ok(csr) = CertificateRequest::from_pem(data) else {
                return false;
            };
            let _ = csr.subject_reading();
            let _ = seeds.ca.sign(&csr, &IssueParams::default());
            true
        }
        Target::Key => {
            let _ = runnerkey::inspect::inspect_pem(data, Some(&"fuzz".into()), None);
            let _ = PrivateKey::from_pem(data, Some(&"foobar".into()));
            let plain = PrivateKey::from_pem(data, None).is_ok();
            PrivateKey::from_pem(data, Some(&"fuzz".into())).is_ok() || plain
        }
        Target::Kubeconfig => {
            let Ok(k) = Kubeconfig::parse(&text) else {
                return false;
            };
            let _ = k.cluster_cas();
            let _ = k.to_yaml();
            true
        }
        Target::Config => {
            let Ok(mut cfg) = RunnerConfig::parse(text.into_owned()) else {
                return false;
            };
            let _ = cfg.runners();
            let _ = cfg.lint(&LintOptions::default());
            let changes = [
                Change::set(KubeKey::Host, "https://10.0.0.1:6443"),
                Change::set(KubeKey::BearerToken, "t0ken"),
                Change::unset(KubeKey::CaFile),
            ];
            for selector in [
                RunnerSelector::Index(0),
                RunnerSelector::Name("runner".into()),
            ] {
                if cfg.set_kubernetes(&selector, &changes).is_ok() {
                    let diff = cfg.diff(false);
                    assert!(!diff.contains("t0ken"), "a secret in a diff: {diff}");
                    let _ = cfg.lint(&LintOptions::default());
                }
            }
            true
        }
        Target::K8sCsr => {
            let Ok(csr) = K8sCsr::parse(&text) else {
                return false;
            };
            let _ = csr.issued_certificate(&seeds.key);
            true
        }
    }
}

/// What a run found.
#[derive(Debug, Default)]
pub struct Outcome {
    /// Inputs run.
    pub executions: u64,
    /// Inputs the target's first parser accepted (the rest were refused
    /// early, as bad input should be).
    pub accepted: u64,
    /// Inputs that panicked, with the panic message.
    pub crashes: Vec<(Vec<u8>, String)>,
}

/// Runs `runs` mutated inputs (and every seed) through `target`.
pub fn fuzz(target: Target, runs: u64, seed: u64) -> Outcome {
    let seeds = Seeds::new(target);
    let mut rng = Rng::new(seed ^ (target as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15));
    let mut out = Outcome::default();
    let inputs: Vec<Vec<u8>> = seeds.inputs.clone();
    let record = |out: &mut Outcome, input: Vec<u8>| {
        out.executions += 1;
        match run_one(target, &seeds, &input) {
            Ok(accepted) => out.accepted += u64::from(accepted),
            Err(e) => out.crashes.push((input, e)),
        }
    };
    for input in inputs {
        record(&mut out, input);
    }
    for _ in 0..runs {
        let input = mutated(&seeds, target, &mut rng);
        record(&mut out, input);
        if out.crashes.len() >= 10 {
            break;
        }
    }
    out
}
