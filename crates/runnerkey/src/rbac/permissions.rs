//! The permissions of the profiles: the executor's from gitlab-runner's
//! documented table (with its optional features), the deployer's, and
//! their grouping into PolicyRules.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::str::FromStr;

use serde::Serialize;

use super::EXECUTOR_TSV;
use crate::error::{Error, Result};

/// Optional executor features, each adding the permissions the reference
/// table lists for it. The first three are on by default, as in
/// gitlab-runner 19.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
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
    pub const ALL: &'static [(ExecutorFeature, &'static str)] = &[
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
                Error::Unknown {
                    what: "executor feature",
                    value: s.chars().take(80).collect(),
                    choices: names.clone(),
                }
            })
    }
}

/// One permission: API group, resource, verb.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[non_exhaustive]
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

pub(super) fn is_cluster_scoped(resource: &str) -> bool {
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
#[non_exhaustive]
pub struct PolicyRule {
    /// API groups.
    pub api_groups: Vec<String>,
    /// Resources.
    pub resources: Vec<String>,
    /// Verbs.
    pub verbs: Vec<String>,
    /// The only objects it covers (every one when empty).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub resource_names: Vec<String>,
}

impl PolicyRule {
    /// `verbs` on `resources` of `api_group`.
    pub fn new(api_group: &str, resources: &[&str], verbs: &[&str]) -> Self {
        let strings = |v: &[&str]| v.iter().map(|s| s.to_string()).collect();
        Self {
            api_groups: vec![api_group.to_string()],
            resources: strings(resources),
            verbs: strings(verbs),
            resource_names: Vec::new(),
        }
    }
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
pub(crate) fn rules(perms: &[Permission]) -> Vec<PolicyRule> {
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
                resource_names: Vec::new(),
            }
        })
        .collect()
}
