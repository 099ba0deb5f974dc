//go:build tools

// The Kubernetes commands the suite builds from the pinned release; this
// file only keeps their modules in the build list.
package tools

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver/app"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager/app"
)
