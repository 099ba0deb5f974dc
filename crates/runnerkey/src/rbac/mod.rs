//! Least-privilege RBAC for the two identities a kubernetes runner involves:
//! the runner itself (profile `executor`, what gitlab-runner needs to run
//! job pods) and the job pods' service account (profile `deployer`, what a
//! deploy job needs), plus the seed's `cluster-admin`, with a warning.

use std::collections::BTreeSet;

use serde::Serialize;

use crate::error::{Error, Result};
use crate::identity::Identity;
use crate::k8s_name::{check_label, sanitize};
use crate::manifest::{Manifests, ObjectMeta};
use crate::service_account::ServiceAccountRef;

/// The executor permission table, from gitlab-runner's documentation
/// (`data/gitlab-runner-executor-rbac.tsv`, see its header for the source).
const EXECUTOR_TSV: &str = include_str!("../../data/gitlab-runner-executor-rbac.tsv");

const RBAC_API: &str = "rbac.authorization.k8s.io/v1";
const RBAC_GROUP: &str = "rbac.authorization.k8s.io";

/// An RBAC subject.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
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
#[non_exhaustive]
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
#[non_exhaustive]
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
    /// A Namespace the other objects live in, so that `kubectl apply`
    /// works on a fresh cluster.
    Namespace {
        /// API version.
        #[serde(rename = "apiVersion")]
        api_version: &'static str,
        /// `Namespace`.
        kind: &'static str,
        /// Metadata (name only).
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
#[non_exhaustive]
pub enum RbacSubject {
    /// A user from a client certificate (CN), optionally with its groups (O).
    User(Identity),
    /// Everyone whose certificate carries this group (O): a fleet of
    /// per-host users bound once; revoking one host is letting its
    /// short-lived certificate lapse (or issuing it without the group).
    Group(String),
    /// A service account (created by the manifests).
    ServiceAccount(ServiceAccountRef),
}

/// Groups every authenticated (or every) identity has: binding one would
/// grant the role to the whole cluster.
const EVERYONE_GROUPS: [&str; 4] = [
    "system:authenticated",
    "system:unauthenticated",
    "system:serviceaccounts",
    // Every kubelet's certificate carries it.
    "system:nodes",
];

impl RbacSubject {
    /// A group subject; refuses the groups every identity (or every
    /// service account of a namespace, or every node) has.
    pub fn group(name: &str) -> Result<Self> {
        check_group(name)?;
        Ok(RbacSubject::Group(name.to_string()))
    }

    /// The checks of the constructors, again: a subject built as an enum
    /// literal (`RbacSubject::Group("system:authenticated".into())`) is
    /// judged as [`RbacSubject::group`] would judge it before any manifest
    /// names it.
    fn check(&self) -> Result<()> {
        match self {
            RbacSubject::Group(name) => check_group(name),
            // Identity and ServiceAccountRef cannot be built unchecked.
            RbacSubject::User(_) | RbacSubject::ServiceAccount(_) => Ok(()),
        }
    }

    /// Parses `NAMESPACE/NAME` (as [`ServiceAccountRef`] does).
    pub fn service_account(spec: &str) -> Result<Self> {
        spec.parse().map(RbacSubject::ServiceAccount)
    }

    fn subjects(&self) -> Vec<Subject> {
        match self {
            RbacSubject::User(id) => std::iter::once(("User", id.user()))
                .chain(id.groups().iter().map(|g| ("Group", g.as_str())))
                .map(|(kind, name)| Subject {
                    kind,
                    name: name.to_string(),
                    namespace: None,
                    api_group: Some(RBAC_GROUP),
                })
                .collect(),
            RbacSubject::Group(name) => vec![Subject {
                kind: "Group",
                name: name.clone(),
                namespace: None,
                api_group: Some(RBAC_GROUP),
            }],
            RbacSubject::ServiceAccount(sa) => vec![Subject {
                kind: "ServiceAccount",
                name: sa.name().to_string(),
                namespace: Some(sa.namespace().to_string()),
                api_group: None,
            }],
        }
    }

    fn slug(&self) -> String {
        match self {
            RbacSubject::User(id) => sanitize(id.user()),
            // Always hashed: a user's exact name can never match it.
            RbacSubject::Group(name) => {
                let slug = sanitize(name);
                if slug == *name {
                    sanitize(&format!("group:{name}"))
                } else {
                    format!("group-{slug}")
                }
            }
            RbacSubject::ServiceAccount(sa) => sanitize(sa.name()),
        }
    }
}

/// What to generate.
#[derive(Clone, Debug)]
#[non_exhaustive]
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
    /// Also the Namespace objects the manifests use, first, so they apply
    /// on a fresh cluster (default). Namespaces every cluster has
    /// (`default`, `kube-system`, `kube-public`, `kube-node-lease`) are never emitted.
    pub with_namespaces: bool,
}

/// Namespaces every cluster has; runnerkey never emits objects for them.
pub(crate) const BUILTIN_NAMESPACES: [&str; 4] =
    ["default", "kube-system", "kube-public", "kube-node-lease"];

impl RbacParams {
    /// Params with the default executor features. A user or group subject
    /// needs [`RbacParams::namespace`] set (the manifests fail with
    /// [`Error::NamespaceRequired`] otherwise); a service account's
    /// namespace is the default.
    pub fn new(subject: RbacSubject, profile: Profile) -> Self {
        Self {
            subject,
            profile,
            namespace: None,
            with_token_secret: false,
            features: ExecutorFeature::defaults(),
            with_namespaces: true,
        }
    }
}

/// The warning printed with the `cluster-admin` profile.
pub(crate) const CLUSTER_ADMIN_WARNING: &str = "profile cluster-admin binds the subject to cluster-admin: every job the runner starts can then read every Secret and change anything in the cluster, and a client certificate cannot be revoked; prefer the executor profile for the runner and the deployer profile for the jobs' service account";

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

impl RbacParams {
    /// The manifests, in apply order: Namespace(s), ServiceAccount (and
    /// token Secret), Role(s), binding(s).
    pub fn manifests(&self) -> Result<Manifests<RbacObject>> {
        manifests(self)
    }
}

fn check_group(name: &str) -> Result<()> {
    crate::identity::check_name("group", name)?;
    if EVERYONE_GROUPS.contains(&name) || name.starts_with("system:serviceaccounts:") {
        return Err(Error::InvalidName {
            field: "group",
            value: name.to_string(),
            reason: "is held by every identity of its kind (all authenticated users, all anonymous requests, all service accounts or all nodes): binding it grants the role to all of them".into(),
        });
    }
    Ok(())
}

fn manifests(params: &RbacParams) -> Result<Manifests<RbacObject>> {
    params.subject.check()?;
    let namespace = target_namespace(params)?;
    let mut items = Vec::new();
    let mut warnings = Vec::new();
    if params.with_namespaces {
        let own = match &params.subject {
            RbacSubject::ServiceAccount(sa) => Some(sa.namespace()),
            RbacSubject::User(_) | RbacSubject::Group(_) => None,
        };
        let mut names: Vec<&str> = own.into_iter().chain([namespace.as_str()]).collect();
        names.dedup();
        for name in names {
            if !name.is_empty() && !BUILTIN_NAMESPACES.contains(&name) {
                items.push(RbacObject::Namespace {
                    api_version: "v1",
                    kind: "Namespace",
                    metadata: ObjectMeta::new(name, None),
                });
            }
        }
    }
    if let RbacSubject::ServiceAccount(sa) = &params.subject {
        let (namespace, name) = (sa.namespace(), sa.name());
        items.push(RbacObject::ServiceAccount {
            api_version: "v1",
            kind: "ServiceAccount",
            metadata: ObjectMeta::new(name, Some(namespace)),
        });
        if params.with_token_secret {
            let mut meta = ObjectMeta::new(format!("{name}-token"), Some(namespace));
            meta.annotations.insert(
                "kubernetes.io/service-account.name".into(),
                name.to_string(),
            );
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
    if namespace != "default" && BUILTIN_NAMESPACES.contains(&namespace.as_str()) {
        warnings.push(format!(
            "namespace {namespace} belongs to the cluster's own components: a role there reaches their secrets and service accounts; run jobs in a namespace of their own"
        ));
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
        Profile::Renewer | Profile::Approver | Profile::Auditor => {
            let (name, rules) = lifecycle::cluster_wide(params.profile);
            items.push(RbacObject::Role {
                api_version: RBAC_API,
                kind: "ClusterRole",
                metadata: ObjectMeta::new(name, None),
                rules,
            });
            items.push(binding(
                "ClusterRoleBinding",
                ObjectMeta::new(format!("{name}-{slug}"), None),
                subjects,
                "ClusterRole",
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

mod auditor;
mod lifecycle;
pub(crate) use lifecycle::SELF_CLIENT;
mod namespace;
mod permissions;
#[cfg(test)]
mod tests;

pub use crate::profile::Profile;
use namespace::target_namespace;
use permissions::is_cluster_scoped;
pub(crate) use permissions::rules;
pub use permissions::{
    ExecutorFeature, Permission, PolicyRule, deployer_permissions, executor_permissions,
};
