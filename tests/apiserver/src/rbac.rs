//! RBAC evaluation over the manifests `runnerkey rbac` emits: Roles,
//! ClusterRoles, RoleBindings, ClusterRoleBindings (and the built-in
//! `cluster-admin`).

use serde_json::Value;

/// Who is asking.
#[derive(Clone, Debug)]
pub struct UserInfo {
    pub username: String,
    pub groups: Vec<String>,
}

/// A resource request, as in a SubjectAccessReview's resourceAttributes.
#[derive(Clone, Debug)]
pub struct Attributes {
    pub namespace: String,
    pub verb: String,
    pub group: String,
    pub resource: String,
    pub subresource: String,
}

impl Attributes {
    pub fn from_spec(spec: &Value) -> Self {
        let a = &spec["resourceAttributes"];
        let s = |k: &str| a[k].as_str().unwrap_or("").to_string();
        Self {
            namespace: s("namespace"),
            verb: s("verb"),
            group: s("group"),
            resource: s("resource"),
            subresource: s("subresource"),
        }
    }

    fn full_resource(&self) -> String {
        if self.subresource.is_empty() {
            self.resource.clone()
        } else {
            format!("{}/{}", self.resource, self.subresource)
        }
    }
}

/// Every object loaded.
#[derive(Default)]
pub struct Rbac {
    objects: Vec<Value>,
}

fn has(list: &Value, want: &str) -> bool {
    list.as_array().is_some_and(|l| {
        l.iter()
            .any(|v| v.as_str() == Some(want) || v.as_str() == Some("*"))
    })
}

impl Rbac {
    /// Loads a multi-document YAML or JSON (object or List) file.
    pub fn load(&mut self, path: &str) {
        let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"));
        let docs: Vec<Value> = if text.trim_start().starts_with('{') {
            vec![serde_json::from_str(&text).expect("JSON")]
        } else {
            text.split("\n---")
                .map(|d| d.trim_start_matches("---"))
                .filter(|d| !d.trim().is_empty())
                .map(|d| serde_norway::from_str(d).expect("YAML"))
                .collect()
        };
        for d in docs {
            if d["kind"] == "List" {
                self.objects
                    .extend(d["items"].as_array().cloned().unwrap_or_default());
            } else {
                self.objects.push(d);
            }
        }
    }

    fn subject_matches(subject: &Value, user: &UserInfo) -> bool {
        let name = subject["name"].as_str().unwrap_or("");
        match subject["kind"].as_str() {
            Some("User") => user.username == name,
            Some("Group") => user.groups.iter().any(|g| g == name),
            Some("ServiceAccount") => {
                let ns = subject["namespace"].as_str().unwrap_or("");
                user.username == format!("system:serviceaccount:{ns}:{name}")
            }
            _ => false,
        }
    }

    fn rules_allow(rules: &Value, a: &Attributes) -> bool {
        rules.as_array().is_some_and(|rules| {
            rules.iter().any(|r| {
                has(&r["apiGroups"], &a.group)
                    && has(&r["resources"], &a.full_resource())
                    && has(&r["verbs"], &a.verb)
            })
        })
    }

    fn role(&self, kind: &str, name: &str, namespace: Option<&str>) -> Option<&Value> {
        self.objects.iter().find(|o| {
            o["kind"] == kind
                && o["metadata"]["name"] == name
                && namespace.is_none_or(|ns| o["metadata"]["namespace"] == ns)
        })
    }

    /// Every loaded object of `kind`.
    pub fn of_kind(&self, kind: &str) -> Vec<Value> {
        self.objects
            .iter()
            .filter(|o| o["kind"] == kind)
            .cloned()
            .collect()
    }

    /// Whether some binding grants `user` the request.
    pub fn allows(&self, user: &UserInfo, a: &Attributes) -> bool {
        self.objects.iter().any(|b| {
            let kind = b["kind"].as_str().unwrap_or("");
            let in_scope = match kind {
                "ClusterRoleBinding" => true,
                "RoleBinding" => {
                    !a.namespace.is_empty() && b["metadata"]["namespace"] == a.namespace.as_str()
                }
                _ => false,
            };
            if !in_scope
                || !b["subjects"]
                    .as_array()
                    .is_some_and(|s| s.iter().any(|s| Self::subject_matches(s, user)))
            {
                return false;
            }
            let role_kind = b["roleRef"]["kind"].as_str().unwrap_or("");
            let role_name = b["roleRef"]["name"].as_str().unwrap_or("");
            if role_kind == "ClusterRole" && role_name == "cluster-admin" {
                return true;
            }
            let ns =
                (role_kind == "Role").then(|| b["metadata"]["namespace"].as_str().unwrap_or(""));
            self.role(role_kind, role_name, ns)
                .is_some_and(|r| Self::rules_allow(&r["rules"], a))
        })
    }
}
