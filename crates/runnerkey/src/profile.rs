//! The RBAC profiles: what a manifest set is for.

use std::str::FromStr;

use serde::Serialize;

use crate::error::{Error, Result};

/// What an RBAC manifest set is for (serialised, parsed and shown as
/// `executor`, `deployer`, `cluster-admin`, ...).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum Profile {
    /// What gitlab-runner's kubernetes executor needs in its namespace.
    Executor,
    /// What a deploy job typically needs in its target namespace.
    Deployer,
    /// Everything, everywhere (the seed's choice; emitted with a warning).
    ClusterAdmin,
    /// What a runner renewing itself through the CSR API needs
    /// (cluster-wide; see `docs/renewal.md`).
    Renewer,
    /// What `runnerkey approver` needs (cluster-wide).
    Approver,
    /// What `doctor --online` needs to find the cluster-admin bindings of
    /// the runner and its job pods once the runner is no longer
    /// cluster-admin (cluster-wide; see the `auditor` module).
    Auditor,
}

impl Profile {
    /// The name: `executor`, `deployer`, `cluster-admin`, `renewer`,
    /// `approver` or `auditor`.
    pub fn as_str(self) -> &'static str {
        match self {
            Profile::Executor => "executor",
            Profile::Deployer => "deployer",
            Profile::ClusterAdmin => "cluster-admin",
            Profile::Renewer => "renewer",
            Profile::Approver => "approver",
            Profile::Auditor => "auditor",
        }
    }
}

crate::named::display_as_str!(Profile);

impl FromStr for Profile {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "executor" => Ok(Profile::Executor),
            "deployer" => Ok(Profile::Deployer),
            "cluster-admin" => Ok(Profile::ClusterAdmin),
            "renewer" => Ok(Profile::Renewer),
            "approver" => Ok(Profile::Approver),
            "auditor" => Ok(Profile::Auditor),
            _ => Err(Error::Unknown {
                what: "profile",
                value: s.chars().take(80).collect(),
                choices: vec![
                    "executor",
                    "deployer",
                    "renewer",
                    "approver",
                    "auditor",
                    "cluster-admin",
                ],
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_profile_is_serialised_shown_and_parsed_by_one_name() {
        for p in [
            Profile::Executor,
            Profile::Deployer,
            Profile::ClusterAdmin,
            Profile::Renewer,
            Profile::Approver,
            Profile::Auditor,
        ] {
            assert_eq!(serde_json::to_value(p).unwrap(), p.as_str());
            assert_eq!(p.to_string(), p.as_str());
            assert_eq!(p.as_str().parse::<Profile>().unwrap(), p);
        }
        assert_eq!(Profile::ClusterAdmin.as_str(), "cluster-admin");
        assert_eq!(format!("{:<10}|", Profile::Auditor), "auditor   |");
    }
}
