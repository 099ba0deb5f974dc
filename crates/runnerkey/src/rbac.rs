//! Least-privilege RBAC for the two identities a kubernetes runner involves:
//! the runner itself (profile `executor`, what gitlab-runner needs to run
//! job pods) and the job pods' service account (profile `deployer`, what a
//! deploy job needs), plus the seed's `cluster-admin`, with a warning.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::str::FromStr;

use serde::Serialize;

use crate::error::{Error, Result};
use crate::identity::Identity;
use crate::k8s_name::{check_label, check_subdomain, sanitize};
use crate::manifest::{Manifests, ObjectMeta};

/// The executor permission table, from gitlab-runner's documentation
/// (`data/gitlab-runner-executor-rbac.tsv`, see its header for the source).
const EXECUTOR_TSV: &str = include_str!("../data/gitlab-runner-executor-rbac.tsv");

const RBAC_API: &str = "rbac.authorization.k8s.io/v1";
const RBAC_GROUP: &str = "rbac.authorization.k8s.io";

/// What an RBAC manifest set is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Profile {
    /// What gitlab-runner's kubernetes executor needs in its namespace.
    Executor,
    /// What a deploy job typically needs in its target namespace.
    Deployer,
    /// Everything, everywhere (the seed's choice; emitted with a warning).
    ClusterAdmin,
}

impl FromStr for Profile {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "executor" => Ok(Profile::Executor),
            "deployer" => Ok(Profile::Deployer),
            "cluster-admin" => Ok(Profile::ClusterAdmin),
            _ => Err(Error::InvalidArgument(format!(
                "unknown profile {s:?} (choose executor, deployer or cluster-admin)"
            ))),
        }
    }
}

/// Optional executor features, each adding the permissions the reference
/// table lists for it. The first three are on by default, as in
/// gitlab-runner 19.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ExecutorFeature {
    /// The attach strategy (`FF_USE_LEGACY_KUBERNETES_EXECUTION_STRATEGY=false`).
    Attach,
    /// Informers watching pods.
    Informers,
    /// `print_pod_warning_events=true`.
    PodWarningEvents,
    /// `FF_PRINT_POD_EVENTS=true`.
    PrintPodEvents,
    /// `FF_KUBERNETES_HONOR_ENTRYPOINT=true`.
    HonorEntrypoint,
    /// `namespace_per_job` (cluster-scoped: namespaces).
    NamespacePerJob,
    /// `FF_SUSPENDABLE_ENVIRONMENTS=true`.
    SuspendableEnvironments,
    /// `pod_disruption_budget=true`.
    PodDisruptionBudget,
    /// The kubernetes autoscaler (cluster-scoped: priorityclasses).
    Autoscaler,
}

impl ExecutorFeature {
    /// Every feature with its CLI name.
    pub const ALL: [(ExecutorFeature, &'static str); 9] = [
        (ExecutorFeature::Attach, "attach"),
        (ExecutorFeature::Informers, "informers"),
        (ExecutorFeature::PodWarningEvents, "pod-warning-events"),
        (ExecutorFeature::PrintPodEvents, "print-pod-events"),
        (ExecutorFeature::HonorEntrypoint, "honor-entrypoint"),
        (ExecutorFeature::NamespacePerJob, "namespace-per-job"),
        (
            ExecutorFeature::SuspendableEnvironments,
            "suspendable-environments",
        ),
        (
            ExecutorFeature::PodDisruptionBudget,
            "pod-disruption-budget",
        ),
        (ExecutorFeature::Autoscaler, "autoscaler"),
    ];

    /// The features on with gitlab-runner's default settings.
    pub fn defaults() -> BTreeSet<ExecutorFeature> {
        BTreeSet::from([
            ExecutorFeature::Attach,
            ExecutorFeature::Informers,
            ExecutorFeature::PodWarningEvents,
        ])
    }

    /// The table's condition text for this feature.
    fn condition(self) -> &'static str {
        match self {
            ExecutorFeature::Attach => "FF_USE_LEGACY_KUBERNETES_EXECUTION_STRATEGY=false",
            ExecutorFeature::Informers => "Informers",
            ExecutorFeature::PodWarningEvents => "print_pod_warning_events=true",
            ExecutorFeature::PrintPodEvents => "FF_PRINT_POD_EVENTS=true",
            ExecutorFeature::HonorEntrypoint => "FF_KUBERNETES_HONOR_ENTRYPOINT=true",
            ExecutorFeature::NamespacePerJob => "kubernetes.NamespacePerJob=true",
            ExecutorFeature::SuspendableEnvironments => "FF_SUSPENDABLE_ENVIRONMENTS=true",
            ExecutorFeature::PodDisruptionBudget => "pod_disruption_budget=true",
            ExecutorFeature::Autoscaler => "kubernetes.autoscaler",
        }
    }
}

impl FromStr for ExecutorFeature {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        ExecutorFeature::ALL
            .iter()
            .find(|(_, n)| *n == s)
            .map(|(f, _)| *f)
            .ok_or_else(|| {
                let names: Vec<_> = ExecutorFeature::ALL.iter().map(|(_, n)| *n).collect();
                Error::InvalidArgument(format!(
                    "unknown executor feature {s:?} (one of {})",
                    names.join(", ")
                ))
            })
    }
}

/// One permission: API group, resource, verb.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Permission {
    /// API group (`""` for the core group).
    pub api_group: String,
    /// Resource, e.g. `pods/exec`.
    pub resource: String,
    /// Verb.
    pub verb: String,
}

impl fmt::Display for Permission {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let group = if self.api_group.is_empty() {
            "core"
        } else {
            &self.api_group
        };
        write!(f, "{} {}/{}", self.verb, group, self.resource)
    }
}

fn is_cluster_scoped(resource: &str) -> bool {
    matches!(resource, "namespaces" | "priorityclasses")
}

/// The executor's permissions with `features` on: every row of the
/// reference table needed "always" or by an enabled feature.
pub fn executor_permissions(features: &BTreeSet<ExecutorFeature>) -> Vec<Permission> {
    let mut out = BTreeSet::new();
    for line in EXECUTOR_TSV
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
    {
        let cols: Vec<&str> = line.split('\t').collect();
        let (group, resource, verb, when) = (
            cols[0].trim_matches('"'),
            cols[1],
            cols[2],
            cols.get(3).copied().unwrap_or(""),
        );
        let needed = when
            .split(", ")
            .map(|c| c.trim().trim_matches('`'))
            .any(|c| {
                c == "always"
                    || features.iter().any(|f| {
                        c == f.condition()
                            || (f.condition() == "Informers" && c.contains("Informers"))
                    })
            });
        if needed {
            out.insert(Permission {
                api_group: group.to_string(),
                resource: resource.to_string(),
                verb: verb.to_string(),
            });
        }
    }
    out.into_iter().collect()
}

const DEPLOYER_WRITE: [&str; 7] = [
    "get", "list", "watch", "create", "update", "patch", "delete",
];
const DEPLOYER_READ: [&str; 3] = ["get", "list", "watch"];

/// What a deploy job typically needs in its namespace.
pub fn deployer_permissions() -> Vec<Permission> {
    let write: &[(&str, &str)] = &[
        ("apps", "deployments"),
        ("apps", "replicasets"),
        ("", "services"),
        ("", "configmaps"),
        ("", "secrets"),
        ("networking.k8s.io", "ingresses"),
        ("batch", "jobs"),
    ];
    let read: &[(&str, &str)] = &[("", "pods"), ("", "pods/log")];
    let mut out = Vec::new();
    for (set, verbs) in [(write, &DEPLOYER_WRITE[..]), (read, &DEPLOYER_READ[..])] {
        for (group, resource) in set {
            for verb in verbs {
                out.push(Permission {
                    api_group: group.to_string(),
                    resource: resource.to_string(),
                    verb: verb.to_string(),
                });
            }
        }
    }
    out
}

/// An RBAC PolicyRule.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PolicyRule {
    /// API groups.
    pub api_groups: Vec<String>,
    /// Resources.
    pub resources: Vec<String>,
    /// Verbs.
    pub verbs: Vec<String>,
}

const VERB_ORDER: [&str; 8] = [
    "get",
    "list",
    "watch",
    "create",
    "update",
    "patch",
    "delete",
    "deletecollection",
];

/// Groups permissions into one rule per API group and resource, in a stable order.
pub fn rules(perms: &[Permission]) -> Vec<PolicyRule> {
    let mut by: BTreeMap<(&str, &str), Vec<&str>> = BTreeMap::new();
    for p in perms {
        by.entry((&p.api_group, &p.resource))
            .or_default()
            .push(&p.verb);
    }
    by.into_iter()
        .map(|((group, resource), mut verbs)| {
            verbs.sort_by_key(|v| VERB_ORDER.iter().position(|o| o == v).unwrap_or(usize::MAX));
            verbs.dedup();
            PolicyRule {
                api_groups: vec![group.to_string()],
                resources: vec![resource.to_string()],
                verbs: verbs.into_iter().map(str::to_string).collect(),
            }
        })
        .collect()
}

/// An RBAC subject.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Subject {
    /// `User`, `Group` or `ServiceAccount`.
    pub kind: &'static str,
    /// Name.
    pub name: String,
    /// Namespace (service accounts).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// `rbac.authorization.k8s.io` for users and groups.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub api_group: Option<&'static str>,
}

/// An RBAC RoleRef.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RoleRef {
    /// Always `rbac.authorization.k8s.io`.
    pub api_group: &'static str,
    /// `Role` or `ClusterRole`.
    pub kind: &'static str,
    /// Role name.
    pub name: String,
}

/// A Kubernetes object runnerkey emits for RBAC.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum RbacObject {
    /// Role or ClusterRole.
    Role {
        /// API version.
        #[serde(rename = "apiVersion")]
        api_version: &'static str,
        /// `Role` or `ClusterRole`.
        kind: &'static str,
        /// Metadata.
        metadata: ObjectMeta,
        /// Rules.
        rules: Vec<PolicyRule>,
    },
    /// RoleBinding or ClusterRoleBinding.
    Binding {
        /// API version.
        #[serde(rename = "apiVersion")]
        api_version: &'static str,
        /// `RoleBinding` or `ClusterRoleBinding`.
        kind: &'static str,
        /// Metadata.
        metadata: ObjectMeta,
        /// Who.
        subjects: Vec<Subject>,
        /// What.
        #[serde(rename = "roleRef")]
        role_ref: RoleRef,
    },
    /// ServiceAccount.
    ServiceAccount {
        /// API version.
        #[serde(rename = "apiVersion")]
        api_version: &'static str,
        /// `ServiceAccount`.
        kind: &'static str,
        /// Metadata.
        metadata: ObjectMeta,
    },
    /// A long-lived service-account token Secret.
    Secret {
        /// API version.
        #[serde(rename = "apiVersion")]
        api_version: &'static str,
        /// `Secret`.
        kind: &'static str,
        /// Metadata.
        metadata: ObjectMeta,
        /// `kubernetes.io/service-account-token`.
        #[serde(rename = "type")]
        type_: &'static str,
    },
}

/// Who the RBAC is for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RbacSubject {
    /// A user from a client certificate (CN), optionally with its groups (O).
    User(Identity),
    /// A service account (created by the manifests).
    ServiceAccount {
        /// Its namespace.
        namespace: String,
        /// Its name.
        name: String,
    },
}

impl RbacSubject {
    /// Parses `NAMESPACE/NAME`.
    pub fn service_account(spec: &str) -> Result<Self> {
        let (namespace, name) = spec.split_once('/').ok_or_else(|| {
            Error::InvalidArgument(format!("service account {spec:?} must be NAMESPACE/NAME"))
        })?;
        check_label("namespace", namespace)?;
        check_subdomain("service account", name)?;
        Ok(RbacSubject::ServiceAccount {
            namespace: namespace.to_string(),
            name: name.to_string(),
        })
    }

    fn subjects(&self) -> Vec<Subject> {
        match self {
            RbacSubject::User(id) => std::iter::once(("User", &id.user))
                .chain(id.groups.iter().map(|g| ("Group", g)))
                .map(|(kind, name)| Subject {
                    kind,
                    name: name.clone(),
                    namespace: None,
                    api_group: Some(RBAC_GROUP),
                })
                .collect(),
            RbacSubject::ServiceAccount { namespace, name } => vec![Subject {
                kind: "ServiceAccount",
                name: name.clone(),
                namespace: Some(namespace.clone()),
                api_group: None,
            }],
        }
    }

    fn slug(&self) -> String {
        match self {
            RbacSubject::User(id) => sanitize(&id.user),
            RbacSubject::ServiceAccount { name, .. } => sanitize(name),
        }
    }
}

/// What to generate.
#[derive(Clone, Debug)]
pub struct RbacParams {
    /// Who gets the permissions.
    pub subject: RbacSubject,
    /// Which permissions.
    pub profile: Profile,
    /// Where (the runner's job namespace for `executor`, the deploy target
    /// for `deployer`); a service account's own namespace by default.
    pub namespace: Option<String>,
    /// Also a `kubernetes.io/service-account-token` Secret (service accounts only).
    pub with_token_secret: bool,
    /// Executor features (see [`ExecutorFeature::defaults`]).
    pub features: BTreeSet<ExecutorFeature>,
}

impl RbacParams {
    /// Params with the default executor features.
    pub fn new(subject: RbacSubject, profile: Profile) -> Self {
        Self {
            subject,
            profile,
            namespace: None,
            with_token_secret: false,
            features: ExecutorFeature::defaults(),
        }
    }
}

/// The warning printed with the `cluster-admin` profile.
pub const CLUSTER_ADMIN_WARNING: &str = "profile cluster-admin binds the subject to cluster-admin: every job the runner starts can then read every Secret and change anything in the cluster, and a client certificate cannot be revoked; prefer the executor profile for the runner and the deployer profile for the jobs' service account";

fn role(kind: &'static str, metadata: ObjectMeta, perms: &[Permission]) -> RbacObject {
    RbacObject::Role {
        api_version: RBAC_API,
        kind,
        metadata,
        rules: rules(perms),
    }
}

fn binding(
    kind: &'static str,
    metadata: ObjectMeta,
    subjects: Vec<Subject>,
    role_kind: &'static str,
    role: &str,
) -> RbacObject {
    RbacObject::Binding {
        api_version: RBAC_API,
        kind,
        metadata,
        subjects,
        role_ref: RoleRef {
            api_group: RBAC_GROUP,
            kind: role_kind,
            name: role.to_string(),
        },
    }
}

/// Generates the manifests for `params`, in apply order: ServiceAccount
/// (and token Secret), Role(s), binding(s).
pub fn rbac(params: &RbacParams) -> Result<Manifests<RbacObject>> {
    let mut items = Vec::new();
    let mut warnings = Vec::new();
    if let RbacSubject::ServiceAccount { namespace, name } = &params.subject {
        items.push(RbacObject::ServiceAccount {
            api_version: "v1",
            kind: "ServiceAccount",
            metadata: ObjectMeta::new(name.clone(), Some(namespace)),
        });
        if params.with_token_secret {
            let mut meta = ObjectMeta::new(format!("{name}-token"), Some(namespace));
            meta.annotations
                .insert("kubernetes.io/service-account.name".into(), name.clone());
            items.push(RbacObject::Secret {
                api_version: "v1",
                kind: "Secret",
                metadata: meta,
                type_: "kubernetes.io/service-account-token",
            });
        }
    } else if params.with_token_secret {
        return Err(Error::TokenNeedsServiceAccount);
    }
    let namespace = match (&params.namespace, &params.subject) {
        (Some(ns), _) => ns.clone(),
        (None, RbacSubject::ServiceAccount { namespace, .. }) => namespace.clone(),
        (None, RbacSubject::User(_)) if params.profile == Profile::ClusterAdmin => String::new(),
        (None, RbacSubject::User(_)) => {
            return Err(Error::NamespaceRequired);
        }
    };
    if !namespace.is_empty() {
        check_label("namespace", &namespace)?;
    }
    let subjects = params.subject.subjects();
    let slug = params.subject.slug();
    match params.profile {
        Profile::Executor => {
            let perms = executor_permissions(&params.features);
            let (cluster, local): (Vec<Permission>, Vec<Permission>) = perms
                .into_iter()
                .partition(|p| is_cluster_scoped(&p.resource));
            let name = "gitlab-runner-executor";
            items.push(role(
                "Role",
                ObjectMeta::new(name, Some(&namespace)),
                &local,
            ));
            items.push(binding(
                "RoleBinding",
                ObjectMeta::new(format!("{name}-{slug}"), Some(&namespace)),
                subjects.clone(),
                "Role",
                name,
            ));
            if !cluster.is_empty() {
                let cname = format!("{name}-cluster");
                items.push(role(
                    "ClusterRole",
                    ObjectMeta::new(cname.clone(), None),
                    &cluster,
                ));
                items.push(binding(
                    "ClusterRoleBinding",
                    ObjectMeta::new(format!("{cname}-{slug}"), None),
                    subjects,
                    "ClusterRole",
                    &cname,
                ));
            }
        }
        Profile::Deployer => {
            let name = "gitlab-deployer";
            items.push(role(
                "Role",
                ObjectMeta::new(name, Some(&namespace)),
                &deployer_permissions(),
            ));
            items.push(binding(
                "RoleBinding",
                ObjectMeta::new(format!("{name}-{slug}"), Some(&namespace)),
                subjects,
                "Role",
                name,
            ));
        }
        Profile::ClusterAdmin => {
            warnings.push(CLUSTER_ADMIN_WARNING.to_string());
            items.push(binding(
                "ClusterRoleBinding",
                ObjectMeta::new(format!("{slug}-cluster-admin"), None),
                subjects,
                "ClusterRole",
                "cluster-admin",
            ));
        }
    }
    Ok(Manifests { items, warnings })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn executor_defaults_cover_always_and_default_rows() {
        let perms = executor_permissions(&ExecutorFeature::defaults());
        let has = |r: &str, v: &str| perms.iter().any(|p| p.resource == r && p.verb == v);
        assert!(
            has("pods/exec", "create") && has("pods/attach", "create") && has("events", "list")
        );
        assert!(has("pods", "list") && has("pods", "watch") && has("pods/log", "get"));
        assert!(
            !has("namespaces", "create") && !has("events", "watch") && !has("configmaps", "create")
        );
        let more = executor_permissions(&BTreeSet::from([ExecutorFeature::NamespacePerJob]));
        assert!(
            more.iter()
                .any(|p| p.resource == "namespaces" && p.verb == "create")
        );
        assert!(!more.iter().any(|p| p.resource == "pods/attach"));
    }

    fn user() -> RbacSubject {
        RbacSubject::User(Identity::new("gitlab-admin", Vec::<String>::new()).unwrap())
    }

    #[test]
    fn the_executor_profile_is_the_documented_table_and_nothing_cluster_wide() {
        let perms = executor_permissions(&ExecutorFeature::defaults());
        assert!(
            perms
                .iter()
                .any(|p| p.resource == "pods/exec" && p.verb == "create")
        );
        assert!(
            perms
                .iter()
                .any(|p| p.resource == "pods" && p.verb == "create")
        );
        assert!(!perms.iter().any(|p| p.verb == "*" || p.resource == "*"));
        let mut params = RbacParams::new(user(), Profile::Executor);
        params.namespace = Some("ci".into());
        let m = rbac(&params).unwrap();
        assert!(m.warnings.is_empty());
        let yaml = m.to_yaml().unwrap();
        assert!(yaml.contains("kind: Role") && yaml.contains("kind: RoleBinding"));
        assert!(!yaml.contains("ClusterRole"));
    }

    #[test]
    fn missing_namespace_and_token_for_a_user_are_typed_errors() {
        let e = rbac(&RbacParams::new(user(), Profile::Executor)).unwrap_err();
        assert!(matches!(e, Error::NamespaceRequired));
        let mut p = RbacParams::new(user(), Profile::Executor);
        p.namespace = Some("ci".into());
        p.with_token_secret = true;
        assert!(matches!(
            rbac(&p).unwrap_err(),
            Error::TokenNeedsServiceAccount
        ));
    }

    #[test]
    fn cluster_admin_comes_with_a_warning_and_profiles_parse() {
        let m = rbac(&RbacParams::new(user(), Profile::ClusterAdmin)).unwrap();
        assert_eq!(m.warnings.len(), 1);
        assert!(
            !m.warnings[0].contains("--"),
            "no CLI flag in the core: {}",
            m.warnings[0]
        );
        assert_eq!("deployer".parse::<Profile>().unwrap(), Profile::Deployer);
        assert!("admin".parse::<Profile>().is_err());
    }

    #[test]
    fn a_service_account_gets_its_object_and_an_optional_token() {
        let sa = RbacSubject::ServiceAccount {
            namespace: "ci".into(),
            name: "deployer".into(),
        };
        let mut p = RbacParams::new(sa, Profile::Deployer);
        p.with_token_secret = true;
        let yaml = rbac(&p).unwrap().to_yaml().unwrap();
        assert!(
            yaml.contains("kind: ServiceAccount")
                && yaml.contains("kubernetes.io/service-account-token")
        );
        assert_eq!(
            deployer_permissions()
                .iter()
                .filter(|p| p.resource == "deployments")
                .count(),
            7
        );
    }
}
