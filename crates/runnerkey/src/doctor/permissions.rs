//! What the runner identity and the job pods may do: the permissions of
//! the executor and deployer profiles, asked of the API server one access
//! review at a time, then judged.

use super::privilege::{Who, review};
use super::report::PermissionCheck;
use super::{Ctx, Presented};
use crate::api_client::ApiClient;
use crate::code::Code;
use crate::next_step::{NextStep, RbacFor};
use crate::rbac::{ExecutorFeature, Profile, deployer_permissions, executor_permissions};
use crate::severity::Severity;

impl Ctx {
    pub(super) fn permissions(&mut self, client: &ApiClient) {
        let ns = self.d.job_namespace.clone();
        let mut checked = Vec::new();
        for p in executor_permissions(&ExecutorFeature::defaults()) {
            match review(
                client,
                &Who::Myself,
                &ns,
                &p.api_group,
                &p.resource,
                &p.verb,
            ) {
                Ok(allowed) => checked.push(PermissionCheck {
                    permission: p,
                    namespace: ns.clone(),
                    allowed,
                }),
                Err(reason) => return self.permissions_seen(checked, Some(reason)),
            }
        }
        self.permissions_seen(checked, None);
    }

    /// Judges the executor's permissions as the access reviews answered
    /// them, up to `failed`, the reason a review could not be had.
    pub(super) fn permissions_seen(
        &mut self,
        checked: Vec<PermissionCheck>,
        failed: Option<String>,
    ) {
        let ns = self.d.job_namespace.clone();
        if let Some(reason) = failed {
            self.d.permissions.clear();
            self.find(
                Code::AccessReview,
                Severity::Warning,
                format!("could not check the executor's permissions: {reason}"),
                "nothing is known either way; retry, or ask the API server as an admin".into(),
            );
            return self.then(NextStep::CheckAccessByHand { impersonate: None });
        }
        self.d.permissions.extend(checked);
        let denied: Vec<String> = self
            .d
            .permissions
            .iter()
            .filter(|p| !p.allowed)
            .map(|p| p.permission.to_string())
            .collect();
        let total = self.d.permissions.len();
        if denied.is_empty() {
            self.pass(
                Code::ExecutorPermissions,
                format!("all {total} permissions the executor needs are granted in namespace {ns}"),
            );
        } else {
            let subject = match &self.d.presents {
                Presented::ClientCertificate { user, .. } => RbacFor::User { name: user.clone() },
                _ => RbacFor::Unknown,
            };
            self.find(
                Code::PermissionDenied,
                Severity::Error,
                format!(
                    "{} of {total} permissions the executor needs are denied in namespace {ns}: {}",
                    denied.len(),
                    denied.join(", ")
                ),
                format!("apply the executor profile for this identity in namespace {ns}"),
            );
            self.then(NextStep::ApplyProfile {
                subject,
                profile: Profile::Executor,
                namespace: Some(ns),
            });
        }
    }

    pub(super) fn deployer(&mut self, client: &ApiClient) {
        let ns = self.d.job_namespace.clone();
        let user = self.d.job_identity.clone();
        let groups = vec![
            "system:serviceaccounts".to_string(),
            format!("system:serviceaccounts:{ns}"),
            "system:authenticated".to_string(),
        ];
        let who = Who::Other {
            user: &user,
            groups: &groups,
        };
        let mut checked = Vec::new();
        for p in deployer_permissions() {
            match review(client, &who, &ns, &p.api_group, &p.resource, &p.verb) {
                Ok(allowed) => checked.push(PermissionCheck {
                    permission: p,
                    namespace: ns.clone(),
                    allowed,
                }),
                Err(reason) => return self.deployer_seen(checked, Some(reason)),
            }
        }
        self.deployer_seen(checked, None);
    }

    /// Judges the deployer profile's permissions for the job pods'
    /// identity as the access reviews answered them, up to `failed`.
    pub(super) fn deployer_seen(&mut self, checked: Vec<PermissionCheck>, failed: Option<String>) {
        let ns = self.d.job_namespace.clone();
        let user = self.d.job_identity.clone();
        if let Some(reason) = failed {
            self.d.deployer_permissions.clear();
            self.d.deployer_note = Some(format!("could not check what {user} may do: {reason}"));
            self.find(
                Code::JobPermissionsUnchecked,
                Severity::Warning,
                format!("could not check what the job pods' identity {user} may do: {reason}"),
                "nothing is known either way; ask as an admin".into(),
            );
            return self.then(NextStep::CheckAccessByHand {
                impersonate: Some(user),
            });
        }
        self.d.deployer_permissions.extend(checked);
        let denied = self
            .d
            .deployer_permissions
            .iter()
            .filter(|p| !p.allowed)
            .count();
        if denied > 0 {
            let sa = self.d.job_service_account.clone();
            self.find(
                Code::JobPermissionsMissing,
                Severity::Warning,
                format!("the job pods' identity {user} lacks {denied} of the deployer profile's {} permissions: deploy jobs will be refused", self.d.deployer_permissions.len()),
                "apply the deployer profile for the job pods' service account".into(),
            );
            self.then(NextStep::ApplyProfile {
                subject: RbacFor::ServiceAccount {
                    namespace: ns,
                    name: sa,
                },
                profile: Profile::Deployer,
                namespace: None,
            });
        }
    }
}
