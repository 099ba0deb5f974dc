//! Where a profile's roles and bindings go.

use super::*;

/// Where the roles and bindings go (empty for cluster-wide only).
pub(super) fn target_namespace(params: &RbacParams) -> Result<String> {
    let namespace = match (&params.namespace, &params.subject) {
        (Some(ns), _) => {
            // Given explicitly, it must be a namespace ('' is not).
            check_label("namespace", ns)?;
            ns.clone()
        }
        (None, RbacSubject::ServiceAccount(sa)) => sa.namespace().to_string(),
        (None, RbacSubject::User(_) | RbacSubject::Group(_))
            if matches!(
                params.profile,
                Profile::ClusterAdmin | Profile::Renewer | Profile::Approver | Profile::Auditor
            ) =>
        {
            String::new()
        }
        (None, RbacSubject::User(_) | RbacSubject::Group(_)) => {
            return Err(Error::NamespaceRequired);
        }
    };
    if !namespace.is_empty() {
        check_label("namespace", &namespace)?;
    }
    Ok(namespace)
}
