#!/usr/bin/env bash
# A real Kubernetes control plane on loopback, for runnerkey's tests and for
# trying runnerkey by hand: etcd, kube-apiserver and kube-controller-manager
# built from the official Go modules at the release pinned in
# tests/controlplane/go.mod, with a cluster CA in kubeadm's layout.
#
#   scripts/control-plane.sh build          build the binaries into the cache (once per pin)
#   scripts/control-plane.sh start DIR      start them; state, logs and PKI in DIR
#   scripts/control-plane.sh env DIR        print the environment to use it (eval it); fails when not running
#   scripts/control-plane.sh stop DIR       stop them
#   scripts/control-plane.sh path           print where the binaries are
#
# `start` on a DIR that runs stops it first and starts afresh: a new CA, an
# empty etcd.
#
# The cache is ${RUNNERKEY_CONTROL_PLANE_CACHE:-~/.cache/runnerkey/control-plane}/PIN,
# where PIN is a digest of tests/controlplane's go.mod, go.sum and sources:
# rebuilt only when the pin changes. Environment for `start`:
#   RUNNERKEY_CP_SIGNING_DURATION  kube-controller-manager's --cluster-signing-duration (default 8760h)
#   RUNNERKEY_CP_READY_SECONDS     how long to wait for readiness (default 120)
# `start` fails with each component's log tail when the control plane does
# not become ready in time. Everything listens on 127.0.0.1 only.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
src="$root/tests/controlplane"
export GOTOOLCHAIN=local GOFLAGS=-mod=mod

# The release the binaries report (kubectl version, /version), from the pin.
k8s_version() {
    grep -E '^\s+k8s.io/kubernetes ' "$src/go.mod" | awk '{print $2}'
}

ldflags() {
    local v major minor
    v=$(k8s_version)
    major=${v#v}; major=${major%%.*}
    minor=${v#v"$major".}; minor=${minor%%.*}
    local pkg=k8s.io/component-base/version
    echo "-s -X $pkg.gitVersion=$v -X $pkg.gitMajor=$major -X $pkg.gitMinor=$minor -X $pkg.gitTreeState=clean -X $pkg.buildDate=1970-01-01T00:00:00Z"
}

pin() {
    { (cd "$src" && cat go.mod go.sum tools.go cmd/etcd/main.go); ldflags; } | sha256sum | cut -c1-16
}

cache_dir() {
    echo "${RUNNERKEY_CONTROL_PLANE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/runnerkey/control-plane}/$(pin)"
}

build() {
    local bin
    bin="$(cache_dir)/bin"
    if [ -x "$bin/kube-apiserver" ] && [ -x "$bin/kube-controller-manager" ] && [ -x "$bin/etcd" ]; then
        return 0
    fi
    mkdir -p "$bin.tmp"
    echo "control-plane: building kube-apiserver, kube-controller-manager and etcd ($(cd "$src" && grep -E '^\s+k8s.io/kubernetes ' go.mod | awk '{print $2}')) into $bin" >&2
    (
        cd "$src"
        go build -trimpath -ldflags=-s -o "$bin.tmp/etcd" ./cmd/etcd
        go build -trimpath -ldflags="$(ldflags)" -o "$bin.tmp/kube-apiserver" k8s.io/kubernetes/cmd/kube-apiserver
        go build -trimpath -ldflags="$(ldflags)" -o "$bin.tmp/kube-controller-manager" k8s.io/kubernetes/cmd/kube-controller-manager
    )
    rm -rf "$bin"
    mv "$bin.tmp" "$bin"
}

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

# openssl, not runnerkey: the control plane's PKI is made independently of
# the code under test.
pki() {
    local d=$1
    mkdir -p "$d"
    cd "$d"
    openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.crt -days 3650 \
        -subj "/CN=kubernetes" -addext "basicConstraints=critical,CA:TRUE" \
        -addext "keyUsage=critical,keyCertSign,cRLSign,digitalSignature" 2>/dev/null
    leaf() { # name subject extensions
        openssl req -newkey rsa:2048 -nodes -keyout "$1.key" -out "$1.csr" -subj "$2" 2>/dev/null
        printf '%s\n' "$3" > "$1.ext"
        openssl x509 -req -in "$1.csr" -CA ca.crt -CAkey ca.key -CAcreateserial -days 365 \
            -extfile "$1.ext" -out "$1.crt" 2>/dev/null
        rm -f "$1.csr" "$1.ext"
    }
    leaf apiserver "/CN=kube-apiserver" "basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth
subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,IP:10.96.0.1"
    leaf admin "/O=system:masters/CN=kubernetes-admin" "basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=clientAuth"
    leaf controller-manager "/CN=system:kube-controller-manager" "basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=clientAuth"
    openssl genrsa -out sa.key 2048 2>/dev/null
    openssl rsa -in sa.key -pubout -out sa.pub 2>/dev/null
    chmod 600 ./*.key
    cd - >/dev/null
}

# A YAML double-quoted scalar for any path.
yq() {
    local v=${1//\\/\\\\}
    printf '"%s"' "${v//\"/\\\"}"
}

kubeconfig() { # file server ca cert key
    cat > "$1" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: runnerkey-test
  cluster:
    server: $(yq "$2")
    certificate-authority: $(yq "$3")
users:
- name: user
  user:
    client-certificate: $(yq "$4")
    client-key: $(yq "$5")
contexts:
- name: runnerkey-test
  context: {cluster: runnerkey-test, user: user}
current-context: runnerkey-test
EOF
    chmod 600 "$1"
}

start() {
    local dir=$1
    build
    local bin
    bin="$(cache_dir)/bin"
    mkdir -p "$dir"
    dir=$(cd "$dir" && pwd)
    stop "$dir" 2>/dev/null || true
    rm -rf "$dir/pki" "$dir/etcd-data" "$dir"/*.log
    pki "$dir/pki"
    local etcd_port peer_port api_port
    etcd_port=$(free_port)
    peer_port=$(free_port)
    api_port=$(free_port)
    local server="https://127.0.0.1:$api_port"
    "$bin/etcd" --name runnerkey-test --data-dir "$dir/etcd-data" \
        --listen-client-urls "http://127.0.0.1:$etcd_port" --advertise-client-urls "http://127.0.0.1:$etcd_port" \
        --listen-peer-urls "http://127.0.0.1:$peer_port" --initial-advertise-peer-urls "http://127.0.0.1:$peer_port" \
        --initial-cluster "runnerkey-test=http://127.0.0.1:$peer_port" \
        --log-level warn >"$dir/etcd.log" 2>&1 &
    echo $! > "$dir/etcd.pid"
    "$bin/kube-apiserver" \
        --etcd-servers "http://127.0.0.1:$etcd_port" \
        --bind-address 127.0.0.1 --advertise-address 127.0.0.1 --secure-port "$api_port" \
        --tls-cert-file "$dir/pki/apiserver.crt" --tls-private-key-file "$dir/pki/apiserver.key" \
        --client-ca-file "$dir/pki/ca.crt" \
        --authorization-mode Node,RBAC \
        --service-account-issuer https://kubernetes.default.svc.cluster.local \
        --service-account-key-file "$dir/pki/sa.pub" --service-account-signing-key-file "$dir/pki/sa.key" \
        --service-cluster-ip-range 10.96.0.0/12 \
        --cert-dir "$dir/pki/generated" \
        --profiling=false --v 1 >"$dir/kube-apiserver.log" 2>&1 &
    echo $! > "$dir/kube-apiserver.pid"
    kubeconfig "$dir/admin.conf" "$server" "$dir/pki/ca.crt" "$dir/pki/admin.crt" "$dir/pki/admin.key"
    kubeconfig "$dir/controller-manager.conf" "$server" "$dir/pki/ca.crt" \
        "$dir/pki/controller-manager.crt" "$dir/pki/controller-manager.key"
    "$bin/kube-controller-manager" \
        --kubeconfig "$dir/controller-manager.conf" \
        --authentication-kubeconfig "$dir/controller-manager.conf" \
        --authorization-kubeconfig "$dir/controller-manager.conf" \
        --bind-address 127.0.0.1 --secure-port 0 --leader-elect=false --use-service-account-credentials \
        --controllers csrsigning,csrapproving,csrcleaner,serviceaccount,namespace,root-ca-cert-publisher \
        --cluster-signing-cert-file "$dir/pki/ca.crt" --cluster-signing-key-file "$dir/pki/ca.key" \
        --cluster-signing-duration "${RUNNERKEY_CP_SIGNING_DURATION:-8760h}" \
        --root-ca-file "$dir/pki/ca.crt" --service-account-private-key-file "$dir/pki/sa.key" \
        --v 1 >"$dir/kube-controller-manager.log" 2>&1 &
    echo $! > "$dir/kube-controller-manager.pid"
    rm -f "$dir/env"
    local deadline=$((SECONDS + ${RUNNERKEY_CP_READY_SECONDS:-120})) started=$SECONDS
    until curl -fsS --max-time 5 --cacert "$dir/pki/ca.crt" --cert "$dir/pki/admin.crt" \
        --key "$dir/pki/admin.key" "$server/readyz" >/dev/null 2>&1; do
        if [ $SECONDS -ge $deadline ] || ! alive "$dir"; then
            if alive "$dir"; then
                echo "control-plane: not ready at $server within ${RUNNERKEY_CP_READY_SECONDS:-120}s" >&2
            else
                echo "control-plane: a component exited after $((SECONDS - started))s, before $server was ready" >&2
            fi
            for c in etcd kube-apiserver kube-controller-manager; do
                echo "--- $c ($(alive_one "$dir" "$c" && echo running || echo exited)), last lines of $dir/$c.log:" >&2
                tail -n 25 "$dir/$c.log" >&2 || true
            done
            stop "$dir"
            return 1
        fi
        sleep 1
    done
    {
        printf 'export RUNNERKEY_CP_DIR=%q\n' "$dir"
        printf 'export RUNNERKEY_CP_SERVER=%q\n' "$server"
        printf 'export RUNNERKEY_CP_CA=%q\n' "$dir/pki/ca.crt"
        printf 'export RUNNERKEY_CP_CA_KEY=%q\n' "$dir/pki/ca.key"
        printf 'export RUNNERKEY_CP_PKI=%q\n' "$dir/pki"
        printf 'export RUNNERKEY_CP_ADMIN_KUBECONFIG=%q\n' "$dir/admin.conf"
    } > "$dir/env"
    echo "control-plane: ready at $server (admin kubeconfig $dir/admin.conf)" >&2
}

alive_one() {
    [ -f "$1/$2.pid" ] && ours "$(cat "$1/$2.pid")" "$2"
}

alive() {
    alive_one "$1" etcd && alive_one "$1" kube-apiserver && alive_one "$1" kube-controller-manager
}

# Whether PID is this control plane's COMPONENT (its binary from the
# cache), not whatever process a stale pid file names after a reboot.
ours() { # pid component
    local exe
    exe=$(readlink -f "/proc/$1/exe" 2>/dev/null) || return 1
    [ "$(basename "$exe")" = "$2" ] && [ "$(dirname "$exe")" = "$(cd "$(cache_dir)/bin" 2>/dev/null && pwd -P)" ]
}

stop() {
    local dir=$1 c pid
    for c in kube-controller-manager kube-apiserver etcd; do
        if [ -f "$dir/$c.pid" ]; then
            pid=$(cat "$dir/$c.pid")
            if ours "$pid" "$c"; then
                kill "$pid" 2>/dev/null || true
                for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
                ours "$pid" "$c" && kill -9 "$pid" 2>/dev/null || true
            fi
            rm -f "$dir/$c.pid"
        fi
    done
    rm -f "$dir/env"
}

case "${1:-}" in
    build) build ;;
    start) start "${2:?usage: control-plane.sh start DIR}" ;;
    stop) stop "${2:?usage: control-plane.sh stop DIR}" ;;
    env)
        d=${2:?usage: control-plane.sh env DIR}
        if [ ! -f "$d/env" ] || ! alive "$d"; then
            echo "control-plane: nothing runs in $d: run scripts/control-plane.sh start $d first" >&2
            exit 1
        fi
        cat "$d/env" ;;
    path) echo "$(cache_dir)/bin" ;;
    *) sed -n '2,/^set -euo/p' "$0" | sed '$d' >&2; exit 2 ;;
esac
