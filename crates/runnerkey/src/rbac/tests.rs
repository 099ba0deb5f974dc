//! Unit tests.

use super::*;

#[test]
fn executor_defaults_cover_always_and_default_rows() {
    let perms = executor_permissions(&ExecutorFeature::defaults());
    let has = |r: &str, v: &str| perms.iter().any(|p| p.resource == r && p.verb == v);
    assert!(has("pods/exec", "create") && has("pods/attach", "create") && has("events", "list"));
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
    let m = params.manifests().unwrap();
    assert!(m.warnings.is_empty());
    let yaml = m.to_yaml().unwrap();
    assert!(yaml.contains("kind: Role") && yaml.contains("kind: RoleBinding"));
    assert!(!yaml.contains("ClusterRole"));
}

#[test]
fn missing_namespace_and_token_for_a_user_are_typed_errors() {
    let e = RbacParams::new(user(), Profile::Executor)
        .manifests()
        .unwrap_err();
    assert!(matches!(e, Error::NamespaceRequired));
    let mut p = RbacParams::new(user(), Profile::Executor);
    p.namespace = Some("ci".into());
    p.with_token_secret = true;
    assert!(matches!(
        p.manifests().unwrap_err(),
        Error::TokenNeedsServiceAccount
    ));
}

#[test]
fn cluster_admin_comes_with_a_warning_and_profiles_parse() {
    let m = RbacParams::new(user(), Profile::ClusterAdmin)
        .manifests()
        .unwrap();
    assert_eq!(m.warnings.len(), 1);
    assert!(
        !m.warnings[0].contains("--"),
        "no CLI flag in the core: {}",
        m.warnings[0]
    );
    assert_eq!("deployer".parse::<Profile>().unwrap(), Profile::Deployer);
    assert!(matches!(
        "admin".parse::<Profile>(),
        Err(crate::Error::Unknown { .. })
    ));
}

#[test]
fn a_service_account_gets_its_object_and_an_optional_token() {
    let sa = RbacSubject::service_account("ci/deployer").unwrap();
    let mut p = RbacParams::new(sa, Profile::Deployer);
    p.with_token_secret = true;
    let yaml = p.manifests().unwrap().to_yaml().unwrap();
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

#[test]
fn namespaces_come_first_once_and_never_the_builtin_ones() {
    let sa = |ns: &str| {
        RbacSubject::ServiceAccount(crate::ServiceAccountRef::new(ns, "deployer").unwrap())
    };
    let kinds = |p: &RbacParams| -> Vec<&'static str> {
        let m = p.manifests().unwrap();
        m.items
            .iter()
            .map(|o| match o {
                RbacObject::Namespace { .. } => "Namespace",
                RbacObject::ServiceAccount { .. } => "ServiceAccount",
                RbacObject::Secret { .. } => "Secret",
                RbacObject::Role { kind, .. } | RbacObject::Binding { kind, .. } => kind,
            })
            .collect()
    };
    let same = RbacParams::new(sa("ci"), Profile::Deployer);
    assert_eq!(
        kinds(&same),
        ["Namespace", "ServiceAccount", "Role", "RoleBinding"]
    );
    let mut two = RbacParams::new(sa("ci"), Profile::Deployer);
    two.namespace = Some("prod".into());
    assert_eq!(kinds(&two)[..2], ["Namespace", "Namespace"]);
    let mut builtin = RbacParams::new(user(), Profile::Executor);
    builtin.namespace = Some("default".into());
    assert!(!kinds(&builtin).contains(&"Namespace"));
    let admin = RbacParams::new(user(), Profile::ClusterAdmin);
    assert_eq!(kinds(&admin), ["ClusterRoleBinding"]);
    let mut without = RbacParams::new(sa("ci"), Profile::Deployer);
    without.with_namespaces = false;
    assert!(!kinds(&without).contains(&"Namespace"));
    let yaml = same.manifests().unwrap().to_yaml().unwrap();
    assert!(
        yaml.starts_with("---\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: ci\n"),
        "{yaml}"
    );
}

#[test]
fn a_group_binds_a_fleet_but_never_everyone() {
    let mut p = RbacParams::new(
        RbacSubject::group("gitlab-runners").unwrap(),
        Profile::Executor,
    );
    p.namespace = Some("ci".into());
    let m = p.manifests().unwrap();
    let subjects: Vec<_> = m
        .items
        .iter()
        .filter_map(|o| match o {
            RbacObject::Binding {
                subjects, metadata, ..
            } => Some((metadata.name.clone(), subjects.clone())),
            _ => None,
        })
        .collect();
    assert_eq!(subjects.len(), 1);
    assert!(
        subjects[0]
            .0
            .starts_with("gitlab-runner-executor-group-gitlab-runners-")
    );
    let user = RbacParams::new(
        RbacSubject::User(Identity::new("group-gitlab-runners", Vec::<String>::new()).unwrap()),
        Profile::ClusterAdmin,
    );
    let group = RbacParams::new(
        RbacSubject::group("gitlab-runners").unwrap(),
        Profile::ClusterAdmin,
    );
    let name = |p: &RbacParams| match &p.manifests().unwrap().items[0] {
        RbacObject::Binding { metadata, .. } => metadata.name.clone(),
        _ => unreachable!(),
    };
    assert_ne!(name(&user), name(&group));
    assert_eq!(subjects[0].1[0].kind, "Group");
    for everyone in [
        "system:authenticated",
        "system:unauthenticated",
        "system:serviceaccounts",
        "system:serviceaccounts:kube-system",
    ] {
        assert!(matches!(
            RbacSubject::group(everyone).unwrap_err(),
            Error::InvalidName { .. }
        ));
    }
    assert!(matches!(
        RbacSubject::group("bad\u{202e}"),
        Err(crate::Error::InvalidName { .. })
    ));
}

#[test]
fn roles_in_the_clusters_own_namespaces_come_with_a_warning() {
    for (ns, warned) in [
        ("kube-system", true),
        ("kube-public", true),
        ("default", false),
        ("ci", false),
    ] {
        let mut p = RbacParams::new(user(), Profile::Executor);
        p.namespace = Some(ns.into());
        let m = p.manifests().unwrap();
        assert_eq!(
            m.warnings.iter().any(|w| w.contains(ns)),
            warned,
            "{ns}: {:?}",
            m.warnings
        );
    }
}

#[test]
fn the_auditor_may_review_access_and_read_bindings_cluster_wide_and_nothing_else() {
    let id = Identity::new("gitlab-admin", Vec::<String>::new()).unwrap();
    let m = RbacParams::new(RbacSubject::User(id), "auditor".parse().unwrap())
        .manifests()
        .unwrap();
    let yaml = m.to_yaml().unwrap();
    assert!(
        yaml.contains("kind: ClusterRole\n") && yaml.contains("name: runnerkey-auditor"),
        "{yaml}"
    );
    assert!(
        yaml.contains("kind: ClusterRoleBinding") && !yaml.contains("namespace:"),
        "{yaml}"
    );
    assert!(
        yaml.contains("subjectaccessreviews") && yaml.contains("clusterrolebindings"),
        "{yaml}"
    );
    for verb in ["delete", "update", "patch", "\"*\"", "- '*'", "secrets"] {
        assert!(!yaml.contains(verb), "{verb} in {yaml}");
    }
}

#[test]
fn a_group_built_as_a_literal_is_judged_as_the_constructor_judges_it() {
    for bad in ["system:authenticated", "system:nodes", "", "bad\nname"] {
        assert!(
            matches!(
                RbacSubject::group(bad),
                Err(Error::InvalidName { field: "group", .. })
            ),
            "{bad:?}"
        );
        let mut p = RbacParams::new(RbacSubject::Group(bad.into()), Profile::Executor);
        p.namespace = Some("gitlab-runner".into());
        assert!(
            matches!(
                p.manifests(),
                Err(Error::InvalidName { field: "group", .. })
            ),
            "{bad:?}"
        );
    }
    let mut p = RbacParams::new(RbacSubject::Group("fleet".into()), Profile::Executor);
    p.namespace = Some("gitlab-runner".into());
    assert!(p.manifests().is_ok());
}
