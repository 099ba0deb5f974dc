//! The command line, as clap derives it. The names here are a contract:
//! scripts and docs rely on them (see docs/cli.md).

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// Give a CI runner outside a Kubernetes cluster an identity in it:
/// keys, client certificates, runner config, RBAC, diagnosis.
#[derive(Debug, Parser)]
#[command(name = "runnerkey", version, about, propagate_version = true)]
pub struct Cli {
    /// Quiet: no text for people and no warnings; the exit status, data asked for (-o json|yaml, manifests) and errors only.
    #[arg(short, long, global = true)]
    pub quiet: bool,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Top-level commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Make or manage a certificate authority.
    #[command(subcommand)]
    Ca(CaCommand),
    /// Generate private keys.
    #[command(subcommand)]
    Key(KeyCommand),
    /// Create and sign PKCS#10 certificate signing requests.
    #[command(subcommand)]
    Csr(CsrCommand),
    /// Generate a key and issue a client certificate for a Kubernetes user.
    Issue(IssueArgs),
    /// Describe certificates, CSRs and keys in a PEM file, or a kubeconfig's users.
    Inspect(InspectArgs),
    /// Check a client certificate against a CA for client authentication.
    Verify(VerifyArgs),
    /// Show, edit and lint gitlab-runner's config.toml.
    #[command(subcommand, name = "runner-config")]
    RunnerConfig(RunnerConfigCommand),
    /// Generate least-privilege RBAC manifests for the runner or its jobs.
    Rbac(RbacArgs),
    /// Write a kubeconfig for the issued identity (to test it with kubectl).
    Kubeconfig(KubeconfigArgs),
    /// Have the cluster sign: CertificateSigningRequest objects and their certificates.
    #[command(subcommand, name = "k8s-csr")]
    K8sCsr(K8sCsrCommand),
    /// Approve runners' renewals of their own identity: a long-running approver, its manifests and unit.
    #[command(subcommand)]
    Approver(ApproverCommand),
    /// The whole procedure in one safe, repeatable step: certificate, config, RBAC, kubeconfig, check.
    Setup(Box<SetupArgs>),
    /// Say why a runner cannot authenticate to the API server, and who it is when it can.
    Doctor(DoctorArgs),
    /// Renew a runner's client certificate when it is due: a new key, the same identity, checked, switched atomically.
    Renew(RenewArgs),
    /// The systemd units that keep a runner's identity renewed: a timer firing every 5 to 15 minutes runs `renew`, which renews only when the credential is due (and refreshes the Prometheus file with --prometheus); gitlab-runner's pre-start check: printed, or installed.
    Systemd(SystemdArgs),
    /// Where each runner's identity stands: who it is, until when, whether renewal is due; JSON or a Prometheus text file too.
    Status(StatusArgs),
    /// Run the whole procedure on a throwaway CA, no cluster needed.
    Demo(DemoArgs),
    /// Print a shell completion script (bash, zsh, fish, powershell, elvish).
    Completion(CompletionArgs),
    /// Print the manual page (roff), e.g. `runnerkey man | man -l -`.
    Man,
}

/// `runnerkey completion`
#[derive(Debug, Args)]
pub struct CompletionArgs {
    /// The shell.
    pub shell: clap_complete::Shell,
}

/// `runnerkey setup`
#[derive(Debug, Args)]
pub struct SetupArgs {
    #[command(flatten)]
    pub config: ConfigArgs,
    /// The runner (its name in config.toml).
    #[arg(long)]
    pub runner: String,
    /// API server URL, https://HOST:PORT.
    #[arg(long)]
    pub server: String,
    /// Directory holding the cluster's ca.crt and ca.key (e.g. /etc/kubernetes/pki).
    #[arg(long, conflicts_with_all = ["ca_key", "request", "complete"])]
    pub ca_dir: Option<PathBuf>,
    /// The cluster CA certificate (with --ca-key; or with --complete, PEM or an admin kubeconfig).
    #[arg(long)]
    pub ca_cert: Option<PathBuf>,
    /// The cluster CA key.
    #[arg(long, requires = "ca_cert", conflicts_with_all = ["request", "complete"])]
    pub ca_key: Option<PathBuf>,
    /// File holding the CA key's passphrase.
    #[arg(long)]
    pub ca_passphrase_file: Option<PathBuf>,
    /// Without the CA key: make the key and a CSR here, to be signed on the control plane or by the cluster.
    #[arg(long, conflicts_with_all = ["complete", "kubeconfig"])]
    pub request: bool,
    #[command(flatten)]
    pub csr_api: CsrApiArgs,
    /// Finish after --request, with the signed certificate.
    #[arg(long, conflicts_with = "kubeconfig")]
    pub complete: bool,
    /// The signed certificate (with --complete).
    #[arg(long, requires = "complete", conflicts_with = "k8s_csr_json")]
    pub cert: Option<PathBuf>,
    /// `kubectl get csr NAME -o json` output of the approved request (with --complete).
    #[arg(long, requires = "complete")]
    pub k8s_csr_json: Option<PathBuf>,
    /// Name of the CertificateSigningRequest object (with --request).
    #[arg(long)]
    pub csr_name: Option<String>,
    /// Requested validity of the CertificateSigningRequest (with --request), e.g. 8760h.
    #[arg(long)]
    pub expiration: Option<String>,
    /// The runner's Kubernetes user (certificate CN).
    #[arg(long, default_value = runnerkey::defaults::USER)]
    pub user: String,
    /// Kubernetes group (certificate O); repeat.
    #[arg(long = "group")]
    pub groups: Vec<String>,
    /// Where the key, certificate, ca.crt, rbac.yaml and kubeconfig go.
    #[arg(long, default_value = runnerkey::defaults::OUT_DIR)]
    pub out_dir: PathBuf,
    /// Where those files will live on the runner host, when they are copied there (absolute): config.toml and the kubeconfig name these paths [default: the out dir].
    #[arg(long, value_name = "DIR")]
    pub install_dir: Option<PathBuf>,
    /// Namespace of the job pods.
    #[arg(long, default_value = runnerkey::defaults::NAMESPACE)]
    pub namespace: String,
    /// How the runner authenticates: a client certificate, or (with --kubeconfig and --service-account) a service account token from the TokenRequest API, written to bearer_token.
    #[arg(long, value_enum, default_value = "certificate", requires_ifs = [("token", "kubeconfig"), ("token", "service_account")])]
    pub auth: Auth,
    /// Service account of the job pods (what a deploy job acts as) [default: gitlab-deployer]; with --auth token, the runner's own service account, whose token it uses (the jobs' then comes from --job-service-account).
    #[arg(long)]
    pub service_account: Option<String>,
    /// With --auth token: the job pods' service account [default: gitlab-deployer].
    #[arg(long)]
    pub job_service_account: Option<String>,
    /// With --auth token: the token's lifetime (the API server may shorten it), e.g. 24h.
    #[arg(long, default_value = runnerkey::defaults::TOKEN_DURATION)]
    pub token_duration: String,
    /// Key algorithm of a new key.
    #[arg(long, default_value = runnerkey::defaults::KEY_ALGORITHM_NAME)]
    pub algorithm: String,
    #[command(flatten)]
    pub lifetime: LifetimeArgs,
    /// Re-issue a certificate that expires within this, e.g. 30d.
    #[arg(long, default_value = runnerkey::defaults::RENEW_BEFORE)]
    pub renew_before: String,
    /// A new key and certificate even when the existing ones are fine.
    #[arg(long)]
    pub force: bool,
    /// Keep the existing key even when it belongs to a blog identity (an X.509 v1 certificate, or one in use longer than the lifetime issued now), which setup otherwise replaces.
    #[arg(long, conflicts_with = "force")]
    pub keep_key: bool,
    /// Print the plan and the config diff; write nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Permit the group system:masters.
    #[arg(long)]
    pub allow_system_masters: bool,
    #[command(flatten)]
    pub out: OutputArgs,
}

/// How a runner set up by `setup` authenticates.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Auth {
    /// A client certificate and key (cert_file, key_file).
    Certificate,
    /// A service account token (bearer_token).
    Token,
}

impl From<Auth> for runnerkey::setup::Auth {
    fn from(a: Auth) -> Self {
        match a {
            Auth::Certificate => runnerkey::setup::Auth::Certificate,
            Auth::Token => runnerkey::setup::Auth::Token,
        }
    }
}

/// `runnerkey doctor`
#[derive(Debug, Args)]
pub struct DoctorArgs {
    #[command(flatten)]
    pub config: ConfigArgs,
    #[command(flatten)]
    pub runners: SomeRunners,
    /// Also connect to host as the runner does, and ask the API server who we are and what we may do.
    #[arg(long)]
    pub online: bool,
    #[command(flatten)]
    pub out: OutputArgs,
    /// How long the whole online check may take, from the first connection to the last answer (each read is bounded too): seconds, or a duration such as 30s or 1m.
    #[arg(long, value_name = "DURATION", default_value = runnerkey::defaults::ONLINE_TIMEOUT)]
    pub timeout: String,
    /// Check a kubeconfig's identity instead of gitlab-runner's config: FILE, or without a value the files of KUBECONFIG (else ~/.kube/config), merged as kubectl merges them.
    #[arg(long, value_name = "FILE", num_args = 0..=1, conflicts_with_all = ["config", "runner", "runner_index"])]
    pub kubeconfig: Option<Option<PathBuf>>,
    /// With --kubeconfig: the context to check [default: current-context].
    #[arg(long, requires = "kubeconfig")]
    pub context: Option<String>,
    /// With --kubeconfig: the namespace the runner's permissions are checked in [default: the context's, else default].
    #[arg(long, short = 'n', requires = "kubeconfig")]
    pub namespace: Option<String>,
}

/// Every kubernetes runner, or the one named.
#[derive(Debug, Args)]
pub struct SomeRunners {
    /// Only this runner (default: every kubernetes runner).
    #[arg(long)]
    pub runner: Option<String>,
    /// Only the runner at this 0-based position among [[runners]] (for duplicate names).
    #[arg(long, conflicts_with = "runner")]
    pub runner_index: Option<usize>,
}

impl SomeRunners {
    /// The runner asked for, if any.
    pub fn pick(&self) -> Option<runnerkey::runner_config::RunnerSelector> {
        pick_runner(&self.runner, self.runner_index)
    }
}

/// Signing through the cluster's CSR API instead of with a CA at hand.
#[derive(Debug, Args)]
pub struct CsrApiArgs {
    /// Have the cluster sign through its CSR API with this kubeconfig's identity (the runner's own works when an approver exists): no CA key anywhere.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["ca_dir", "ca_cert", "ca_key"])]
    pub kubeconfig: Option<PathBuf>,
    /// With --kubeconfig: the context [default: current-context].
    #[arg(long, requires = "kubeconfig")]
    pub context: Option<String>,
    /// With --kubeconfig: approve the request too (when that identity may).
    #[arg(long, requires = "kubeconfig")]
    pub approve: bool,
    /// With --kubeconfig: how long to wait for approval and the certificate: seconds, or a duration such as 90s, 5m or 1h30m.
    #[arg(long, requires = "kubeconfig", default_value = runnerkey::defaults::CSR_WAIT)]
    pub wait: String,
    /// With --kubeconfig: accept a cluster entry with insecure-skip-tls-verify (the server's certificate is not checked: whoever sits between here and it reads the request and answers it); refused otherwise.
    #[arg(long, requires = "kubeconfig")]
    pub insecure_skip_tls_verify: bool,
}

/// The one runner a lifecycle command acts on.
#[derive(Debug, Args)]
pub struct OneRunner {
    /// The runner's name.
    #[arg(long, required_unless_present = "runner_index")]
    pub runner: Option<String>,
    /// The runner at this 0-based position among [[runners]] (for duplicate names).
    #[arg(long, conflicts_with = "runner")]
    pub runner_index: Option<usize>,
}

/// When a certificate is due for renewal.
#[derive(Debug, Args)]
pub struct RenewalArgs {
    /// Due after this fraction of the lifetime, less a jitter of up to 5 % fixed per certificate [default: 2/3].
    #[arg(long, value_name = "FRACTION")]
    pub renew_at: Option<f64>,
    /// Also due within this of the end, e.g. 30d.
    #[arg(long, value_name = "DURATION")]
    pub renew_before: Option<String>,
}

/// `runnerkey renew`
#[derive(Debug, Args)]
pub struct RenewArgs {
    #[command(flatten)]
    pub config: ConfigArgs,
    #[command(flatten)]
    pub runner: OneRunner,
    #[command(flatten)]
    pub ca: CaArgs,
    #[command(flatten)]
    pub csr_api: CsrApiArgs,
    #[command(flatten)]
    pub when: RenewalArgs,
    /// Renew even when not due.
    #[arg(long)]
    pub force: bool,
    /// Say what would happen; write nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Do not authenticate with the new pair before switching (by default, when the API server answers, a pair it refuses is not installed).
    #[arg(long)]
    pub no_online: bool,
    /// How long the online check may take: seconds, or a duration such as 30s or 1m.
    #[arg(long, value_name = "DURATION", default_value = runnerkey::defaults::ONLINE_TIMEOUT)]
    pub timeout: String,
    /// For a token runner: the service account NAMESPACE/NAME its token must be for (refused otherwise: config.toml may have been edited); `systemd` pins it.
    #[arg(long, value_name = "NS/NAME")]
    pub expect_service_account: Option<runnerkey::ServiceAccountRef>,
    /// For a certificate runner: the user (CN) it must be for. Setup pins the identity where the runner's user cannot write; without a pin (an older setup) this pins it, and renewal as root refuses a directory others may write until it is pinned.
    #[arg(long)]
    pub expect_user: Option<String>,
    /// With --expect-user: a group (O) it must hold; repeat for several (exactly these).
    #[arg(long = "expect-group", requires = "expect_user")]
    pub expect_groups: Vec<String>,
    #[command(flatten)]
    pub out: OutputArgs,
}

/// `runnerkey systemd`
#[derive(Debug, Args)]
pub struct SystemdArgs {
    #[command(flatten)]
    pub config: ConfigArgs,
    #[command(flatten)]
    pub runner: OneRunner,
    #[command(flatten)]
    pub ca: CaArgs,
    #[command(flatten)]
    pub csr_api: CsrApiArgs,
    #[command(flatten)]
    pub when: RenewalArgs,
    /// Write the units into ROOT/etc/systemd/system instead of printing them.
    #[arg(long)]
    pub install: bool,
    /// With --install: the root to install under (default /).
    #[arg(long, requires = "install", default_value = "/")]
    pub root: PathBuf,
    /// The units' instance name [default: the runner's name]; required when another runner in config.toml has the same name, so that each gets units of its own.
    #[arg(long)]
    pub instance: Option<String>,
    /// After every renewal attempt (renewed, nothing due, or failed), refresh the status as a Prometheus text file: node_exporter's textfile directory (DIR/runnerkey.prom), or a file in it; it must exist.
    #[arg(long, value_name = "DIR|FILE")]
    pub prometheus: Option<PathBuf>,
}

/// `runnerkey status`
#[derive(Debug, Args)]
pub struct StatusArgs {
    #[command(flatten)]
    pub config: ConfigArgs,
    #[command(flatten)]
    pub runners: SomeRunners,
    #[command(flatten)]
    pub when: RenewalArgs,
    /// Also write the status as a Prometheus text file (atomically), for node_exporter's textfile collector: its directory (DIR/runnerkey.prom), which must exist, or a file in it; `-` for stdout.
    #[arg(long, value_name = "DIR|FILE")]
    pub prometheus: Option<PathBuf>,
    /// Exit 1 only when a credential is unusable (expired, unreadable, not matching its key), and say why on stderr — not when it is merely due.
    #[arg(long, conflicts_with = "pre_start")]
    pub require_usable: bool,
    /// gitlab-runner's ExecStartPre check: exit 1 only when no runner of config.toml could work (every runner is a kubernetes runner whose identity is unusable); name each unusable runner and the command that recovers it on stderr.
    #[arg(long, conflicts_with_all = ["runner", "runner_index"])]
    pub pre_start: bool,
    #[command(flatten)]
    pub out: OutputArgs,
}

/// What a command that prints a report prints.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Output {
    /// For people.
    Text,
    /// JSON, for programs.
    Json,
    /// YAML, for programs (the same fields as JSON).
    Yaml,
}

/// `-o text|json|yaml`, and `--json` for `-o json`.
#[derive(Debug, Args)]
pub struct OutputArgs {
    /// Output format: text, or json or yaml for programs (the same fields; see docs/inspect.md and docs/cli.md).
    #[arg(short = 'o', long = "output", value_enum, default_value = "text")]
    pub output: Output,
    /// The same as -o json.
    #[arg(long, conflicts_with = "output")]
    pub json: bool,
}

impl OutputArgs {
    /// Whether the output is for programs (JSON or YAML).
    pub fn data(&self) -> bool {
        self.json || self.output != Output::Text
    }

    /// Prints `value` as JSON or YAML, as asked.
    pub fn print<T: serde::Serialize>(&self, value: &T) -> runnerkey::Result<()> {
        if self.json || self.output == Output::Json {
            crate::term::print_json(value)
        } else {
            crate::term::print_yaml(value)
        }
    }
}

/// Output format of manifests.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Multi-document YAML.
    Yaml,
    /// JSON (a `List` for several objects).
    Json,
}

/// `runnerkey rbac`
#[derive(Debug, Args)]
pub struct RbacArgs {
    /// User from the client certificate (CN).
    #[arg(
        long,
        conflicts_with = "service_account",
        required_unless_present_any = ["service_account", "groups"]
    )]
    pub user: Option<String>,
    /// Group to bind as well (O); repeat for several. Alone (without --user), the one group to bind: a fleet of per-host users sharing it.
    #[arg(long = "group", conflicts_with = "service_account")]
    pub groups: Vec<String>,
    /// Service account NAMESPACE/NAME (created by the manifests).
    #[arg(long, value_name = "NS/NAME")]
    pub service_account: Option<runnerkey::ServiceAccountRef>,
    /// executor (the runner), deployer (the jobs' service account), renewer (a runner renewing itself through the CSR API), approver (runnerkey approver), auditor (doctor --online naming every cluster-admin binding of the runner and its job pods) or cluster-admin.
    #[arg(long)]
    pub profile: String,
    /// Namespace of the Role and RoleBinding (the runner's job namespace).
    #[arg(long)]
    pub namespace: Option<String>,
    /// Also a kubernetes.io/service-account-token Secret (bearer token for the service account).
    #[arg(long)]
    pub with_token_secret: bool,
    /// Leave out the Namespace objects (they are included so that `kubectl apply` works on a fresh cluster).
    #[arg(long)]
    pub no_namespaces: bool,
    /// Executor feature to add permissions for (attach, informers, pod-warning-events are on by default); repeat.
    #[arg(long = "with", value_name = "FEATURE")]
    pub with_features: Vec<String>,
    /// Executor feature to leave out; repeat.
    #[arg(long = "without", value_name = "FEATURE")]
    pub without_features: Vec<String>,
    /// Output format.
    #[arg(short = 'o', long = "output", value_enum, default_value = "yaml")]
    pub output: Format,
}

/// `runnerkey kubeconfig`
#[derive(Debug, Args)]
pub struct KubeconfigArgs {
    /// API server URL (https://HOST:PORT).
    #[arg(long)]
    pub server: String,
    /// CA certificate the API server's certificate is signed by.
    #[arg(long)]
    pub ca: PathBuf,
    /// Client certificate.
    #[arg(long)]
    pub cert: PathBuf,
    /// Client key.
    #[arg(long)]
    pub key: PathBuf,
    /// User entry name (default: the certificate's CN).
    #[arg(long)]
    pub user: Option<String>,
    /// Cluster entry name.
    #[arg(long, default_value = "kubernetes")]
    pub cluster: String,
    /// Reference the files by path instead of embedding them.
    #[arg(long)]
    pub reference_files: bool,
    /// Output file (mode 0600).
    #[arg(long)]
    pub out: PathBuf,
    /// Overwrite an existing file.
    #[arg(long)]
    pub force: bool,
}

/// `runnerkey k8s-csr …`
#[derive(Debug, Subcommand)]
pub enum K8sCsrCommand {
    /// Print a certificates.k8s.io/v1 CertificateSigningRequest to kubectl apply.
    Create(K8sCsrCreateArgs),
    /// Take the issued certificate out of `kubectl get csr NAME -o json`.
    Import(K8sCsrImportArgs),
    /// Have the cluster sign through its CSR API: submit, approve (when asked and allowed), wait, check, write the certificate.
    Submit(K8sCsrSubmitArgs),
    /// Approve one pending CertificateSigningRequest, only if it asks for exactly the expected identity.
    Approve(K8sCsrApproveArgs),
}

/// The API server to talk to: a kubeconfig and its context.
#[derive(Debug, Args)]
pub struct ApiArgs {
    /// The kubeconfig (default: the files of KUBECONFIG, else ~/.kube/config).
    #[arg(long, value_name = "FILE")]
    pub kubeconfig: Option<PathBuf>,
    /// The context [default: current-context].
    #[arg(long)]
    pub context: Option<String>,
    /// Accept a cluster entry with insecure-skip-tls-verify (the server's certificate is not checked); refused otherwise.
    #[arg(long)]
    pub insecure_skip_tls_verify: bool,
}

/// `runnerkey k8s-csr submit`
#[derive(Debug, Args)]
pub struct K8sCsrSubmitArgs {
    #[command(flatten)]
    pub api: ApiArgs,
    /// The private key: used when it exists, else made here (0600); it never leaves this host.
    #[arg(long)]
    pub key: PathBuf,
    /// Kubernetes user name (certificate CN) of the request made from --key.
    #[arg(long, required_unless_present = "csr")]
    pub user: Option<String>,
    /// Kubernetes group (certificate O); repeat for several.
    #[arg(long = "group", conflicts_with = "csr")]
    pub groups: Vec<String>,
    /// A PKCS#10 CSR made for --key, instead of --user/--group.
    #[arg(long, conflicts_with = "user")]
    pub csr: Option<PathBuf>,
    /// The object's name [default: a name the server generates from --generate-name].
    #[arg(long)]
    pub name: Option<String>,
    /// The prefix of a generated name.
    #[arg(long, conflicts_with = "name", default_value = "runnerkey-")]
    pub generate_name: String,
    /// Requested validity, e.g. 720h (the signer may shorten it; at least 10m).
    #[arg(long)]
    pub expiration: Option<String>,
    /// Approve it too (needs update on certificatesigningrequests/approval and approve on the signer).
    #[arg(long)]
    pub approve: bool,
    /// How long to wait for approval and the certificate: seconds, or a duration such as 90s, 5m or 1h30m.
    #[arg(long, default_value = runnerkey::defaults::CSR_WAIT)]
    pub wait: String,
    /// Where the certificate goes.
    #[arg(long)]
    pub out: PathBuf,
    /// Replace an existing --out file.
    #[arg(long)]
    pub force: bool,
    #[command(flatten)]
    pub format: OutputArgs,
}

/// `runnerkey approver`
#[derive(Debug, Subcommand)]
pub enum ApproverCommand {
    /// Watch CertificateSigningRequests and approve those that renew their submitter's own identity, when RBAC grants it the selfclient subresource.
    Run(ApproverRunArgs),
    /// Print the manifests that run the approver in the cluster: namespace, service account, RBAC, Deployment.
    Manifests(ApproverManifestsArgs),
    /// The systemd unit that runs the approver on a control-plane host: printed, or installed.
    Unit(ApproverUnitArgs),
}

/// How the approver decides (shared by run, manifests and unit).
#[derive(Debug, Args, Clone)]
pub struct ApproverPolicyArgs {
    /// Deny (with the reason) a request the policy refuses, instead of leaving it pending for a person.
    #[arg(long)]
    pub deny: bool,
    /// The subresource of certificatesigningrequests a requester must be allowed to create.
    #[arg(long, default_value = runnerkey::approver::SELF_CLIENT)]
    pub subresource: String,
    /// Approvals per requester: N/DURATION (e.g. 3/1h).
    #[arg(long, default_value = "3/1h")]
    pub rate: String,
    /// Read every request again this often.
    #[arg(long, default_value = "5m")]
    pub resync: String,
}

/// `runnerkey approver run`
#[derive(Debug, Args)]
pub struct ApproverRunArgs {
    #[command(flatten)]
    pub api: ApiArgs,
    /// Use the pod's service account (token and CA from /var/run/secrets/kubernetes.io/serviceaccount).
    #[arg(long, conflicts_with_all = ["kubeconfig", "context"])]
    pub in_cluster: bool,
    #[command(flatten)]
    pub policy: ApproverPolicyArgs,
    /// Serve Prometheus metrics (/metrics) and /healthz on this address, e.g. 127.0.0.1:9745.
    #[arg(long, value_name = "ADDR")]
    pub metrics_address: Option<String>,
    /// Decide every pending request once and exit (no watch).
    #[arg(long)]
    pub once: bool,
    /// Each request's deadline.
    #[arg(long, default_value = runnerkey::defaults::REQUEST_TIMEOUT)]
    pub timeout: String,
    /// Decisions as JSON lines (with --once: one JSON array).
    #[arg(long)]
    pub json: bool,
}

/// `runnerkey approver manifests`
#[derive(Debug, Args)]
pub struct ApproverManifestsArgs {
    /// The container image with the runnerkey command on its PATH.
    #[arg(long, default_value = concat!("runnerkey:", env!("CARGO_PKG_VERSION")))]
    pub image: String,
    /// The namespace it runs in.
    #[arg(long, default_value = "runnerkey-system")]
    pub namespace: String,
    /// Replicas (two approvers never approve a request twice).
    #[arg(long, default_value_t = 1)]
    pub replicas: u32,
    #[command(flatten)]
    pub policy: ApproverPolicyArgs,
    /// Output format.
    #[arg(short = 'o', long = "output", value_enum, default_value = "yaml")]
    pub output: Format,
}

/// `runnerkey approver unit`
#[derive(Debug, Args)]
pub struct ApproverUnitArgs {
    /// The approver's kubeconfig, with its certificate and key embedded (passed to the service as a systemd credential).
    #[arg(long, value_name = "FILE")]
    pub kubeconfig: PathBuf,
    /// Where the service serves metrics.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:9745")]
    pub metrics_address: String,
    #[command(flatten)]
    pub policy: ApproverPolicyArgs,
    /// Write it into ROOT/etc/systemd/system instead of printing it.
    #[arg(long)]
    pub install: bool,
    /// The root to install under.
    #[arg(long, default_value = "/", requires = "install")]
    pub root: PathBuf,
}

/// `runnerkey k8s-csr approve`
#[derive(Debug, Args)]
pub struct K8sCsrApproveArgs {
    /// The CertificateSigningRequest's name.
    pub name: String,
    #[command(flatten)]
    pub api: ApiArgs,
    /// The user (CN) it must ask for [default: the user who submitted it: only a renewal of one's own identity, with groups the submitter holds, is approved].
    #[arg(long)]
    pub expect_user: Option<String>,
    /// A group (O) it must ask for; repeat for several (exactly these).
    #[arg(long = "expect-group", requires = "expect_user")]
    pub expect_groups: Vec<String>,
    /// Mark a request that is not approved Denied, with the reason (default: leave it pending for a person).
    #[arg(long)]
    pub deny: bool,
    #[command(flatten)]
    pub out: OutputArgs,
}

/// `runnerkey k8s-csr create`
#[derive(Debug, Args)]
pub struct K8sCsrCreateArgs {
    /// Private key to make a CSR with (needs --user).
    #[arg(long, conflicts_with = "csr", required_unless_present = "csr")]
    pub key: Option<PathBuf>,
    /// An existing PKCS#10 CSR to wrap.
    #[arg(long)]
    pub csr: Option<PathBuf>,
    /// Object name.
    #[arg(long)]
    pub name: String,
    /// Kubernetes user (CN), with --key.
    #[arg(long, requires = "key")]
    pub user: Option<String>,
    /// Kubernetes group (O), with --key; repeat.
    #[arg(long = "group", requires = "key")]
    pub groups: Vec<String>,
    /// Permit the group system:masters (the CSR API refuses it anyway).
    #[arg(long)]
    pub allow_system_masters: bool,
    /// Requested validity (expirationSeconds), e.g. 8760h; at least 10m.
    #[arg(long)]
    pub expiration: Option<String>,
    /// Output format.
    #[arg(short = 'o', long = "output", value_enum, default_value = "yaml")]
    pub output: Format,
}

/// `runnerkey k8s-csr import`
#[derive(Debug, Args)]
pub struct K8sCsrImportArgs {
    /// `kubectl get csr NAME -o json` (or -o yaml) output; - for stdin.
    #[arg(long)]
    pub from: String,
    /// The private key the CSR was made with.
    #[arg(long)]
    pub key: PathBuf,
    /// Where to write the certificate.
    #[arg(long)]
    pub out: PathBuf,
    /// Overwrite an existing file.
    #[arg(long)]
    pub force: bool,
}

/// `runnerkey runner-config …`
#[derive(Debug, Subcommand)]
pub enum RunnerConfigCommand {
    /// List the runners and their kubernetes settings (secrets hidden).
    Show(ShowArgs),
    /// Set or remove [runners.kubernetes] keys of one runner, keeping every other byte.
    Set(Box<SetArgs>),
    /// Find unknown keys and settings or files that break the kubernetes executor.
    Lint(LintArgs),
}

/// The config file and the runner in it.
#[derive(Debug, Args)]
pub struct ConfigArgs {
    /// gitlab-runner's config file.
    #[arg(long, default_value = runnerkey::runner_config::DEFAULT_PATH)]
    pub config: PathBuf,
}

/// `runnerkey runner-config show`
#[derive(Debug, Args)]
pub struct ShowArgs {
    #[command(flatten)]
    pub config: ConfigArgs,
    /// Only this runner.
    #[arg(long)]
    pub runner: Option<String>,
    #[command(flatten)]
    pub out: OutputArgs,
    /// Print runner tokens, bearer tokens and the user:password of URLs instead of <redacted>.
    #[arg(long)]
    pub show_secrets: bool,
}

/// `runnerkey runner-config set`
#[derive(Debug, Args)]
pub struct SetArgs {
    #[command(flatten)]
    pub config: ConfigArgs,
    /// The runner's name.
    #[arg(
        long,
        required_unless_present = "runner_index",
        conflicts_with = "runner_index"
    )]
    pub runner: Option<String>,
    /// The runner's 0-based position among [[runners]] (for duplicate names).
    #[arg(long)]
    pub runner_index: Option<usize>,
    /// API server URL (host).
    #[arg(long)]
    pub host: Option<String>,
    /// Client certificate path (cert_file).
    #[arg(long)]
    pub cert_file: Option<String>,
    /// Client key path (key_file).
    #[arg(long)]
    pub key_file: Option<String>,
    /// Cluster CA path (ca_file).
    #[arg(long)]
    pub ca_file: Option<String>,
    /// Namespace for job pods (namespace).
    #[arg(long)]
    pub namespace: Option<String>,
    /// Service account for job pods (service_account).
    #[arg(long)]
    pub service_account: Option<String>,
    /// File holding a bearer token to set as bearer_token (never on the command line).
    #[arg(long)]
    pub bearer_token_file: Option<PathBuf>,
    /// Remove a key from [runners.kubernetes]; repeat for several.
    #[arg(long = "unset", value_name = "KEY")]
    pub unset: Vec<String>,
    /// Print the diff and write nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Do not write config.toml.<timestamp>.bak first.
    #[arg(long)]
    pub no_backup: bool,
    /// How long to wait for another editor's lock: seconds, or a duration such as 30s.
    #[arg(long, value_name = "DURATION", default_value = "10")]
    pub lock_timeout: String,
    /// Show token values in the diff.
    #[arg(long)]
    pub show_secrets: bool,
}

/// `runnerkey runner-config lint`
#[derive(Debug, Args)]
pub struct LintArgs {
    #[command(flatten)]
    pub config: ConfigArgs,
    /// Only this runner.
    #[arg(long)]
    pub runner: Option<String>,
    /// Only the runner at this 0-based position among [[runners]] (for duplicate names).
    #[arg(long, conflicts_with = "runner")]
    pub runner_index: Option<usize>,
    #[command(flatten)]
    pub out: OutputArgs,
}

/// `runnerkey ca …`
#[derive(Debug, Subcommand)]
pub enum CaCommand {
    /// Write a new CA (ca.crt, ca.key) the way kubeadm does, for demos and tests.
    Init(CaInitArgs),
}

/// `runnerkey ca init`
#[derive(Debug, Args)]
pub struct CaInitArgs {
    /// Directory to write ca.crt and ca.key into (created if missing).
    #[arg(long)]
    pub out_dir: PathBuf,
    /// Key algorithm.
    #[arg(long, default_value = "rsa-2048")]
    pub algorithm: String,
    /// Validity in days.
    #[arg(long, default_value_t = 3650)]
    pub days: u32,
    /// Subject common name.
    #[arg(long, default_value = "kubernetes")]
    pub cn: String,
    /// Overwrite existing files.
    #[arg(long)]
    pub force: bool,
}

/// `runnerkey key …`
#[derive(Debug, Subcommand)]
pub enum KeyCommand {
    /// Generate a private key (PKCS#8 PEM, mode 0600).
    Generate(KeyGenerateArgs),
}

/// `runnerkey key generate`
#[derive(Debug, Args)]
pub struct KeyGenerateArgs {
    /// Output file.
    #[arg(long)]
    pub out: PathBuf,
    /// ecdsa-p256, ecdsa-p384, rsa-2048, rsa-3072, rsa-4096 or ed25519.
    #[arg(long, default_value = runnerkey::defaults::KEY_ALGORITHM_NAME)]
    pub algorithm: String,
    /// Overwrite an existing file.
    #[arg(long)]
    pub force: bool,
}

/// `runnerkey csr …`
#[derive(Debug, Subcommand)]
pub enum CsrCommand {
    /// Create a CSR with CN = Kubernetes user and one O per group.
    Create(CsrCreateArgs),
    /// Sign a CSR with a CA into a client certificate.
    Sign(CsrSignArgs),
}

/// A user and its groups.
#[derive(Debug, Args)]
pub struct IdentityArgs {
    /// Kubernetes user name (certificate CN).
    #[arg(long)]
    pub user: String,
    /// Kubernetes group (certificate O); repeat for several.
    #[arg(long = "group")]
    pub groups: Vec<String>,
    /// Permit the group system:masters (it bypasses RBAC and cannot be revoked).
    #[arg(long)]
    pub allow_system_masters: bool,
}

/// Where the CA is: `--ca-dir`, or `--ca-cert` with `--ca-key`.
#[derive(Debug, Args)]
pub struct CaArgs {
    /// Directory holding ca.crt and ca.key (e.g. /etc/kubernetes/pki).
    #[arg(long, conflicts_with_all = ["ca_cert", "ca_key"])]
    pub ca_dir: Option<PathBuf>,
    /// CA certificate file.
    #[arg(long, requires = "ca_key")]
    pub ca_cert: Option<PathBuf>,
    /// CA private key file.
    #[arg(long, requires = "ca_cert")]
    pub ca_key: Option<PathBuf>,
    /// File holding the CA key's passphrase, if it is encrypted.
    #[arg(long)]
    pub ca_passphrase_file: Option<PathBuf>,
}

/// How long a certificate is valid.
#[derive(Debug, Args)]
pub struct LifetimeArgs {
    /// Validity in days (default 365).
    #[arg(long, conflicts_with = "duration")]
    pub days: Option<u32>,
    /// Validity as a duration, e.g. 8760h, 90d, 1h30m.
    #[arg(long)]
    pub duration: Option<String>,
}

/// `runnerkey csr create`
#[derive(Debug, Args)]
pub struct CsrCreateArgs {
    /// Private key file.
    #[arg(long)]
    pub key: PathBuf,
    /// File holding the key's passphrase, if it is encrypted.
    #[arg(long)]
    pub passphrase_file: Option<PathBuf>,
    #[command(flatten)]
    pub identity: IdentityArgs,
    /// Output CSR file.
    #[arg(long)]
    pub out: PathBuf,
    /// Overwrite an existing file.
    #[arg(long)]
    pub force: bool,
}

/// `runnerkey csr sign`
#[derive(Debug, Args)]
pub struct CsrSignArgs {
    /// The CSR (PEM), e.g. from `openssl req` or `runnerkey csr create`.
    pub csr_file: PathBuf,
    #[command(flatten)]
    pub ca: CaArgs,
    #[command(flatten)]
    pub lifetime: LifetimeArgs,
    /// Permit the group system:masters.
    #[arg(long)]
    pub allow_system_masters: bool,
    /// Output certificate file.
    #[arg(long)]
    pub out: PathBuf,
    /// Overwrite an existing file.
    #[arg(long)]
    pub force: bool,
}

/// `runnerkey issue`
#[derive(Debug, Args)]
pub struct IssueArgs {
    #[command(flatten)]
    pub ca: CaArgs,
    /// Kubernetes user name (certificate CN). With --batch, the template for entries that give "host": {host} is replaced (e.g. gitlab-runner:{host}).
    #[arg(long, required_unless_present = "batch")]
    pub user: Option<String>,
    /// Kubernetes group (certificate O); repeat for several. With --batch, every certificate gets them.
    #[arg(long = "group")]
    pub groups: Vec<String>,
    /// Permit the group system:masters (it bypasses RBAC and cannot be revoked).
    #[arg(long)]
    pub allow_system_masters: bool,
    /// Key algorithm of the new key (with --batch, of entries that name none).
    #[arg(long, default_value = runnerkey::defaults::KEY_ALGORITHM_NAME)]
    pub algorithm: String,
    #[command(flatten)]
    pub lifetime: LifetimeArgs,
    /// Directory for BASENAME.key, BASENAME.crt and ca.crt (created if missing, 0700).
    #[arg(long, required_unless_present = "batch", conflicts_with = "batch")]
    pub out_dir: Option<PathBuf>,
    /// Base name of the key and certificate files (default: the user name).
    #[arg(long, conflicts_with = "batch")]
    pub name: Option<String>,
    /// Overwrite existing files (with --keep-valid: a new key and certificate even when the existing ones are fine).
    #[arg(long)]
    pub force: bool,
    /// Keep a key and certificate that are still good (same identity, accepted by the CA, not due for renewal by the policy `renew` uses: --renew-at, --renew-before); issue only what is missing, wrong or due. A second run changes nothing (files untouched); with --batch, a batch run again (after an interruption, or from a timer) redoes only that.
    #[arg(long)]
    pub keep_valid: bool,
    /// With --keep-valid: due after this fraction of the lifetime, less a jitter of up to 5 % fixed per certificate (as `renew`) [default: 0.667].
    #[arg(long, value_name = "FRACTION", requires = "keep_valid")]
    pub renew_at: Option<f64>,
    /// With --keep-valid: also due within this of the end, e.g. 7d.
    #[arg(long, value_name = "DURATION", requires = "keep_valid")]
    pub renew_before: Option<String>,
    /// With --keep-valid: show what would change; write nothing.
    #[arg(long, requires = "keep_valid", conflicts_with = "batch")]
    pub dry_run: bool,
    /// Issue one certificate per line of FILE (JSON lines: user or host, groups, out_dir, and optional name, algorithm, days; `-` reads stdin), on all cores. Every entry is checked before the first is issued.
    #[arg(long, value_name = "FILE")]
    pub batch: Option<PathBuf>,
    /// Threads for --batch [default: four per core, so that signing goes on while files are synced to disk].
    #[arg(long, value_name = "N", requires = "batch")]
    pub jobs: Option<usize>,
    #[command(flatten)]
    pub out: OutputArgs,
}

/// `runnerkey inspect`
#[derive(Debug, Args)]
pub struct InspectArgs {
    /// PEM file with certificates, CSRs or keys, or a kubeconfig.
    pub file: PathBuf,
    /// File holding the passphrase of an encrypted key.
    #[arg(long)]
    pub passphrase_file: Option<PathBuf>,
    #[command(flatten)]
    pub out: OutputArgs,
}

/// `runnerkey verify`
#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// CA certificate(s) to trust: PEM, or a kubeconfig (its certificate-authority-data).
    #[arg(long)]
    pub ca: PathBuf,
    /// Client certificate to check.
    #[arg(long)]
    pub cert: PathBuf,
    /// Private key that should match the certificate.
    #[arg(long)]
    pub key: Option<PathBuf>,
    /// File holding the key's passphrase, if it is encrypted.
    #[arg(long)]
    pub passphrase_file: Option<PathBuf>,
    #[command(flatten)]
    pub out: OutputArgs,
}

/// `runnerkey demo`
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Directory to work in (replaced files only inside it).
    #[arg(long, default_value = "runnerkey-demo")]
    pub dir: PathBuf,
}

/// The runner picked by `--runner NAME` or `--runner-index N`, if any.
pub fn pick_runner(
    name: &Option<String>,
    index: Option<usize>,
) -> Option<runnerkey::runner_config::RunnerSelector> {
    use runnerkey::runner_config::RunnerSelector;
    match (name, index) {
        (_, Some(i)) => Some(RunnerSelector::Index(i)),
        (Some(n), None) => Some(RunnerSelector::Name(n.clone())),
        (None, None) => None,
    }
}
