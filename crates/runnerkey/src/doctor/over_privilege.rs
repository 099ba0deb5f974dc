//! The over-privilege findings of `doctor --online`: for the runner
//! identity (its user and groups, asked with a SelfSubjectAccessReview) and
//! every service account its job pods may run as (config.toml's
//! `service_account` in the runner's namespace, and that namespace's
//! `default` whenever the runner may run pods as it), whether it is
//! cluster-admin-equivalent, and the bindings that make it so — until each
//! is removed. Asking about the job pods' accounts and listing bindings
//! takes the `auditor` profile once the runner is no longer cluster-admin:
//! without it the finding says the check could not be made, as an error
//! (an unaudited identity is never passed).

use super::Ctx;
use super::privilege::{AdminBinding, BindingLists, PrivilegeAudit, Who, audit};
use super::report::Presented;
use crate::api_client::ApiClient;
use crate::code::Code;
use crate::next_step::{NextStep, RbacFor};
use crate::rbac::Profile;
use crate::severity::Severity;

/// One identity the audit is about.
struct Audited {
    /// "the runner identity", "the job pods' identity".
    label: &'static str,
    /// Its Kubernetes user name (as shown in findings).
    user: String,
    /// Its groups (as RBAC matches them).
    groups: Vec<String>,
    audit: PrivilegeAudit,
    cluster_admin: Code,
    dangerous: Code,
    /// The profile that replaces cluster-admin for it.
    profile: &'static str,
}

/// The groups every service account of `namespace` holds.
fn service_account_groups(namespace: &str) -> Vec<String> {
    vec![
        "system:serviceaccounts".to_string(),
        format!("system:serviceaccounts:{namespace}"),
        "system:authenticated".to_string(),
    ]
}

impl Ctx {
    /// Whom RBAC for the runner is written for, as far as it is known.
    fn runner_rbac_subject(&self) -> RbacFor {
        if let Presented::ClientCertificate { user, .. } = &self.d.presents {
            return RbacFor::User { name: user.clone() };
        }
        let name = self
            .d
            .authenticated_as
            .as_ref()
            .map(|u| u.username.as_str());
        match name.and_then(|n| n.strip_prefix("system:serviceaccount:")) {
            Some(sa) => match sa.split_once(':') {
                Some((namespace, name)) => RbacFor::ServiceAccount {
                    namespace: namespace.to_string(),
                    name: name.to_string(),
                },
                None => RbacFor::Unknown,
            },
            None => RbacFor::Unknown,
        }
    }

    /// The runner's user and groups, as the API server confirmed them (or
    /// as its certificate states them).
    fn runner_user(&self) -> (String, Vec<String>) {
        if let Some(u) = &self.d.authenticated_as {
            return (u.username.clone(), u.groups.clone());
        }
        match &self.d.presents {
            Presented::ClientCertificate { user, groups } => {
                let mut groups = groups.clone();
                groups.push("system:authenticated".into());
                (user.clone(), groups)
            }
            other => (other.to_string(), Vec::new()),
        }
    }

    /// The over-privilege audit (see the module documentation).
    pub(super) fn privileges(&mut self, client: &ApiClient) {
        let (user, groups) = self.runner_user();
        let mut audited = vec![Audited {
            label: "the runner identity",
            user,
            groups,
            audit: audit(client, &Who::Myself),
            cluster_admin: Code::RunnerClusterAdmin,
            dangerous: Code::RunnerDangerousGrants,
            profile: "executor",
        }];
        if self.jobs {
            let ns = self.d.job_namespace.clone();
            let mut accounts = vec![self.d.job_service_account.clone()];
            if self.default_account_too && !accounts.iter().any(|a| a == "default") {
                accounts.push("default".into());
            }
            for account in accounts {
                let user = format!("system:serviceaccount:{ns}:{account}");
                let groups = service_account_groups(&ns);
                let audit = audit(
                    client,
                    &Who::Other {
                        user: &user,
                        groups: &groups,
                    },
                );
                audited.push(Audited {
                    label: "the job pods' identity",
                    user,
                    groups,
                    audit,
                    cluster_admin: Code::JobClusterAdmin,
                    dangerous: Code::JobDangerousGrants,
                    profile: "deployer",
                });
            }
        }
        let any_admin = audited.iter().any(|a| {
            matches!(
                a.audit,
                PrivilegeAudit::Checked {
                    cluster_admin: true,
                    ..
                }
            )
        });
        let lists = any_admin.then(|| BindingLists::fetch(client));
        let runner_rbac = self.runner_rbac_subject();
        let auditor = NextStep::ApplyProfile {
            subject: runner_rbac,
            profile: Profile::Auditor,
            namespace: None,
        };
        // Each finding names its own bindings; the command deletes them
        // all at once.
        let granting: Vec<Vec<AdminBinding>> = audited
            .iter()
            .map(|a| match (&a.audit, &lists) {
                (
                    PrivilegeAudit::Checked {
                        cluster_admin: true,
                        ..
                    },
                    Some(Ok(l)),
                ) => l.granting(&a.user, &a.groups),
                _ => Vec::new(),
            })
            .collect();
        let mut all: Vec<AdminBinding> = Vec::new();
        for b in granting.iter().flatten() {
            if !all.contains(b) {
                all.push(b.clone());
            }
        }
        for (a, bindings) in audited.iter().zip(granting) {
            match &a.audit {
                PrivilegeAudit::Checked {
                    cluster_admin: true,
                    ..
                } => {
                    let message = format!(
                        "{} ({}) is cluster-admin-equivalent: it may do anything to every object of the cluster",
                        a.label, a.user
                    );
                    let first = format!("apply the {} profile's RBAC first, then", a.profile);
                    let (fix, next) = match (&lists, bindings.is_empty()) {
                        (_, false) => (
                            format!(
                                "{first} delete {} (the command deletes every binding found)",
                                bindings.iter().map(ToString::to_string).collect::<Vec<_>>().join(", "),
                            ),
                            Some(NextStep::DeleteBindings {
                                bindings: all.clone(),
                            }),
                        ),
                        (Some(Err(e)), true) => (
                            format!("{first} remove the grant: the bindings could not be listed ({e}); apply the auditor RBAC profile for the runner so that doctor can name them, or find them as an admin"),
                            Some(auditor.clone()),
                        ),
                        _ => (
                            format!("{first} remove the grant: no ClusterRoleBinding or RoleBinding binds it to a role that grants everything, so one of its groups (system:masters?) or another authorizer does"),
                            None,
                        ),
                    };
                    self.find(a.cluster_admin, Severity::Error, message, fix);
                    if let Some(step) = next {
                        self.then(step);
                    }
                }
                PrivilegeAudit::Checked {
                    dangerous_grants, ..
                } if !dangerous_grants.is_empty() => self.find(
                    a.dangerous,
                    Severity::Warning,
                    format!(
                        "{} ({}) holds grants beyond the {} profile: {}",
                        a.label,
                        a.user,
                        a.profile,
                        dangerous_grants.join(", ")
                    ),
                    "remove the bindings that give them; the profile needs none of them".into(),
                ),
                PrivilegeAudit::Checked { .. } => self.pass(
                    a.cluster_admin,
                    format!(
                        "{} ({}) is not cluster-admin and holds no dangerous grant beyond the {} profile",
                        a.label, a.user, a.profile
                    ),
                ),
                PrivilegeAudit::CouldNotCheck { reason, forbidden } => {
                    let fix = if *forbidden {
                        "apply the auditor RBAC profile for the runner identity (setup's rbac.yaml has it), so that it may ask; until then nothing is known either way".to_string()
                    } else {
                        "nothing is known either way: retry, or check the bindings as an admin".to_string()
                    };
                    self.find(
                        Code::PrivilegesUnchecked,
                        Severity::Error,
                        format!(
                            "could not check whether {} ({}) is cluster-admin: {reason}",
                            a.label, a.user
                        ),
                        fix,
                    );
                    if *forbidden {
                        self.then(auditor.clone());
                    }
                }
            }
        }
        self.d.admin_bindings = all;
        let mut audits = audited.into_iter().map(|a| a.audit);
        self.d.runner_privileges = audits.next();
        self.d.job_privileges = audits.next();
    }
}

#[cfg(test)]
mod tests;
