"""Kubernetes JSON-schema validation of manifests (no network): the
v1.30.0 local-strict schemas from the kubernetes-validate package, and the
standalone-strict ones (see tests/fixtures/k8s-schemas/SOURCE.txt). Both
reject unknown fields."""

from __future__ import annotations

import json
from functools import cache

import jsonschema
from referencing import Registry, Resource

from conftest import fixture

FILES = {
    "ServiceAccount": "serviceaccount-v1.json",
    "Secret": "secret-v1.json",
    "Role": "role-rbac-v1.json",
    "ClusterRole": "clusterrole-rbac-v1.json",
    "RoleBinding": "rolebinding-rbac-v1.json",
    "ClusterRoleBinding": "clusterrolebinding-rbac-v1.json",
    "CertificateSigningRequest": "certificatesigningrequest-certificates-v1.json",
}


@cache
def _registry() -> Registry:
    defs = json.loads(fixture("k8s-schemas", "v1.30.0-local-strict", "_definitions.json").read_text())
    return Registry().with_resource(defs["$id"], Resource.from_contents(defs))


@cache
def _v130(kind: str) -> jsonschema.Draft202012Validator:
    schema = json.loads(fixture("k8s-schemas", "v1.30.0-local-strict", FILES[kind]).read_text())
    return jsonschema.Draft202012Validator(schema, registry=_registry())


@cache
def _standalone(kind: str) -> jsonschema.Draft4Validator:
    schema = json.loads(fixture("k8s-schemas", FILES[kind]).read_text())
    return jsonschema.Draft4Validator(schema)


# Kinds with no per-kind file among the fixtures: validated against their
# definition in the v1.30.0 _definitions.json (same data the per-kind files
# reference), standalone-strict check skipped.
DEFINITIONS = {"Namespace": "io.k8s.api.core.v1.Namespace", "Deployment": "io.k8s.api.apps.v1.Deployment"}


@cache
def _v130_definition(kind: str) -> jsonschema.Draft202012Validator:
    schema = {"$ref": f"https://kubernetes.io/api/_definitions.json#/$defs/{DEFINITIONS[kind]}"}
    return jsonschema.Draft202012Validator(schema, registry=_registry())


def errors(obj: dict) -> list[str]:
    """Every schema error for one object, from both schema sets."""
    kind = obj.get("kind")
    if kind in DEFINITIONS:
        return [f"v1.30: {e.json_path}: {e.message}" for e in _v130_definition(kind).iter_errors(obj)]
    if kind not in FILES:
        return [f"no schema for kind {kind!r}"]
    out = [f"v1.30: {e.json_path}: {e.message}" for e in _v130(kind).iter_errors(obj)]
    out += [f"standalone: {e.json_path}: {e.message}" for e in _standalone(kind).iter_errors(obj)]
    return out
