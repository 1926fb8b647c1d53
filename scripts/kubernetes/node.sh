#!/usr/bin/env bash
# A real Kubernetes node beside the loopback control plane (cluster.sh): containerd 2 and a kubelet
# that run pods for real, with Debian's CNI bridge plugin (pod IPs on 10.88.0.0/16, routed from
# this host), and kube-proxy (iptables) so Service IPs reach those pods from this host and from
# pods. Built by scripts/toolchain/kubernetes-node.sh. The cluster must be started first.
# Usage: node.sh start|stop|status|import IMAGE...
#   start   starts containerd, the kubelet and kube-proxy (idempotent); the node registers as
#           $NODE_NAME, Ready
#   stop    stops them, kills every pod container it ran, removes the KUBE-* iptables chains of
#           kube-proxy (--cleanup) and the kubelet (Docker's rules are not touched), deletes the
#           bridge and the Node
#   import  copies images from the local Docker engine into the node's containerd (there is no
#           registry here: pods use the local tags with imagePullPolicy IfNotPresent)
# No cluster DNS runs: Services are reached at their ClusterIPs, as the kubernetes target's
# registrations name them (docs/kubernetes.md, "A real node").
set -euo pipefail
. "$(dirname "$0")/../env.sh"

VERSION=${KUBERNETES_VERSION:-v1.37.2}
TOOL_DIR=$MODELPLANE_CACHE/toolchain/kubernetes-$VERSION
NODE_BIN=$TOOL_DIR/node-bin
KUBELET=$TOOL_DIR/bin/kubelet
KUBE_PROXY=$TOOL_DIR/bin/kube-proxy
DIR=${MODELPLANE_KUBE_DIR:-$MODELPLANE_STATE/kubernetes}
NODE_DIR=$DIR/node
NODE_NAME=${MODELPLANE_KUBE_REAL_NODE:-real-node-0}
# containerd's socket path must stay under the 108-byte limit of a unix socket.
RUN=/run/modelplane-node-$(printf '%s' "$DIR" | sha256sum | cut -c1-8)
SOCK=$RUN/containerd.sock
KUBELET_PORT=${MODELPLANE_KUBE_KUBELET_PORT:-20250}
KUBELET_HEALTHZ_PORT=${MODELPLANE_KUBE_KUBELET_HEALTHZ_PORT:-20248}
PROXY_HEALTHZ_PORT=${MODELPLANE_KUBE_PROXY_HEALTHZ_PORT:-20256}
PROXY_METRICS_PORT=${MODELPLANE_KUBE_PROXY_METRICS_PORT:-20249}
POD_SUBNET=10.88.0.0/16
BRIDGE=mp-cni0
# The node's InternalIP: the bridge's gateway address, made before the kubelet starts (the kubelet
# refuses a loopback node IP, and kube-proxy waits 30 s for a node without one).
NODE_IP=10.88.0.1
PAUSE_IMAGE=docker.io/modelplane/pause:local

die() { echo "error: $*" >&2; exit 1; }
say() { echo "  kubernetes node: $*"; }
pid_of() { cat "$NODE_DIR/$1.pid" 2>/dev/null || true; }
running() {
  local pid exe want
  pid=$(pid_of "$1"); [ -n "$pid" ] || return 1
  exe=$(readlink "/proc/$pid/exe" 2>/dev/null) || return 1
  case "$1" in kubelet) want=$KUBELET ;; kube-proxy) want=$KUBE_PROXY ;; *) want=$NODE_BIN/$1 ;; esac
  [ "${exe% (deleted)}" = "$(readlink -f "$want")" ]
}
ctr_() { "$NODE_BIN/ctr" -a "$SOCK" -n k8s.io "$@" 2> >(grep -v DEPRECATION >&2); }
kubectl_() { "$TOOL_DIR/bin/kubectl" --kubeconfig "$DIR/kubeconfig" "$@"; }
launch() { # NAME BINARY ARGS...
  local name=$1 bin=$2; shift 2
  echo "--- $(date -u +%FT%TZ) start" >> "$NODE_DIR/logs/$name.log"
  PATH=$NODE_BIN:$PATH setsid sh -c 'echo $$ > "$0"; exec "$@"' "$NODE_DIR/$name.pid" "$bin" "$@" \
    </dev/null >>"$NODE_DIR/logs/$name.log" 2>&1 &
  local i
  for i in $(seq 1 100); do running "$name" && return 0; sleep 0.05; done
  tail -n 15 "$NODE_DIR/logs/$name.log" >&2; die "$name did not start (log: $NODE_DIR/logs/$name.log)"
}

configs() {
  mkdir -p "$NODE_DIR/logs" "$NODE_DIR/cni" "$RUN"
  # restrict_oom_score_adj: the kubelet asks for oom_score_adj -998 for sandboxes, which needs
  # CAP_SYS_RESOURCE; this VM's root lacks it, and runc then fails every sandbox.
  cat > "$NODE_DIR/containerd.toml" <<TOML
version = 3
root = "$NODE_DIR/containerd"
state = "$RUN/state"
[grpc]
  address = "$SOCK"
[ttrpc]
  address = "$SOCK.ttrpc"
[plugins.'io.containerd.cri.v1.images']
  snapshotter = "overlayfs"
  [plugins.'io.containerd.cri.v1.images'.pinned_images]
    sandbox = "$PAUSE_IMAGE"
[plugins.'io.containerd.cri.v1.runtime']
  restrict_oom_score_adj = true
  [plugins.'io.containerd.cri.v1.runtime'.containerd]
    default_runtime_name = "runc"
    [plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc.options]
        BinaryName = "$NODE_BIN/runc"
        SystemdCgroup = false
  [plugins.'io.containerd.cri.v1.runtime'.cni]
    bin_dirs = ["/usr/lib/cni"]
    conf_dir = "$NODE_DIR/cni"
TOML
  cat > "$NODE_DIR/cni/10-modelplane.conflist" <<JSON
{"cniVersion": "1.0.0", "name": "modelplane-pods", "plugins": [
  {"type": "bridge", "bridge": "$BRIDGE", "isGateway": true, "ipMasq": true, "hairpinMode": true,
   "ipam": {"type": "host-local", "ranges": [[{"subnet": "$POD_SUBNET"}]], "routes": [{"dst": "0.0.0.0/0"}],
            "dataDir": "$NODE_DIR/cni-ipam"}},
  {"type": "portmap", "capabilities": {"portMappings": true}}]}
JSON
  # cgroup v1 here (kubelet 1.35+ refuses it unless told), cgroupfs as Docker uses, no swap check.
  cat > "$NODE_DIR/kubelet.yaml" <<YAML
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
failCgroupV1: false
cgroupDriver: cgroupfs
failSwapOn: false
containerRuntimeEndpoint: unix://$SOCK
authentication: {anonymous: {enabled: false}, webhook: {enabled: false}, x509: {clientCAFile: "$DIR/pki/ca.crt"}}
authorization: {mode: AlwaysAllow}
address: 127.0.0.1
port: $KUBELET_PORT
readOnlyPort: 0
healthzPort: $KUBELET_HEALTHZ_PORT
enforceNodeAllocatable: []
localStorageCapacityIsolation: false
evictionHard: {"memory.available": "200Mi"}
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
resolvConf: /etc/resolv.conf
YAML
  # The Node authorizer's identity: the kubelet may read only its own pods' secrets and configmaps.
  client_cert "node-$NODE_NAME" "/O=system:nodes/CN=system:node:$NODE_NAME"
  # kube-proxy's identity: the default RBAC binds system:node-proxier to this user.
  client_cert kube-proxy "/CN=system:kube-proxy"
  node_kubeconfig kubelet "node-$NODE_NAME"
  node_kubeconfig kube-proxy kube-proxy
  # NodePorts on the node's bridge address only, none on loopback (so route_localnet stays off);
  # conntrack limits and timeouts left as the host has them (0: do not write the sysctls).
  # masqueradeAll: a pod's reply to another pod on the same bridge must come back through the
  # host to be un-NATed (no br_netfilter needed).
  cat > "$NODE_DIR/kube-proxy.yaml" <<YAML
apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
clientConnection: {kubeconfig: "$NODE_DIR/kube-proxy.kubeconfig"}
hostnameOverride: $NODE_NAME
mode: iptables
clusterCIDR: $POD_SUBNET
bindAddress: 127.0.0.1
healthzBindAddress: 127.0.0.1:$PROXY_HEALTHZ_PORT
metricsBindAddress: 127.0.0.1:$PROXY_METRICS_PORT
nodePortAddresses: ["$NODE_IP/32"]
conntrack: {maxPerCore: 0, min: 0, tcpEstablishedTimeout: 0s, tcpCloseWaitTimeout: 0s}
iptables: {masqueradeAll: true, localhostNodePorts: false}
YAML
}
client_cert() { # NAME SUBJECT: pki/<NAME>.crt and .key signed by the cluster's CA, once
  local p=$DIR/pki
  [ -s "$p/$1.crt" ] && return 0
  openssl req -newkey rsa:2048 -nodes -subj "$2" -keyout "$p/$1.key" -out "$p/$1.csr" 2>/dev/null \
    && openssl x509 -req -in "$p/$1.csr" -CA "$p/ca.crt" -CAkey "$p/ca.key" -CAcreateserial -days 3650 -extfile "$p/client.ext" -out "$p/$1.crt" 2>/dev/null \
    || die "openssl could not sign the certificate $1 ($2) in $p: check that $p/ca.key is readable, or run cluster.sh purge and start again"
  rm -f "$p/$1.csr"
}
node_kubeconfig() { # NAME CERT: $NODE_DIR/<NAME>.kubeconfig with the certificate pki/<CERT>.crt
  local p=$DIR/pki server
  server=$(sed -n 's/^    server: //p' "$DIR/kubeconfig" | head -n1)
  (umask 077; cat > "$NODE_DIR/$1.kubeconfig" <<KC
apiVersion: v1
kind: Config
clusters: [{name: local, cluster: {server: "$server", certificate-authority-data: $(base64 -w0 "$p/ca.crt")}}]
users: [{name: $1, user: {client-certificate-data: $(base64 -w0 "$p/$2.crt"), client-key-data: $(base64 -w0 "$p/$2.key")}}]
contexts: [{name: local, context: {cluster: local, user: $1}}]
current-context: local
KC
  )
}

import_images() { # IMAGE...
  local img
  for img in "$@"; do
    docker image inspect "$img" >/dev/null 2>&1 || die "no image $img in the local Docker engine"
    docker save "$img" | ctr_ images import --local - >/dev/null || die "could not import $img into the node's containerd"
    say "imported $img"
  done
}

start() {
  for c in runc containerd containerd-shim-runc-v2 ctr pause; do
    [ -x "$NODE_BIN/$c" ] || die "no $NODE_BIN/$c: build the node first (bash scripts/toolchain/kubernetes-node.sh)"
  done
  [ -x "$KUBELET" ] && [ -x "$KUBE_PROXY" ] || die "no $KUBELET or $KUBE_PROXY: build them (bash scripts/toolchain/kubernetes-binaries.sh)"
  command -v iptables-restore >/dev/null || die "no iptables-restore for kube-proxy: apt-get install iptables (Docker's engine package brings it)"
  [ -s "$DIR/kubeconfig" ] && kubectl_ get --raw /readyz >/dev/null 2>&1 || die "the control plane is not running: bash scripts/kubernetes/cluster.sh start"
  configs
  local t=$SECONDS
  if running containerd; then say "containerd: already running (pid $(pid_of containerd))"; else
    say "starting containerd..."
    launch containerd "$NODE_BIN/containerd" --config "$NODE_DIR/containerd.toml"
    local i; for i in $(seq 1 100); do ctr_ version >/dev/null 2>&1 && break; sleep 0.1; done
    ctr_ version >/dev/null 2>&1 || { tail -n 15 "$NODE_DIR/logs/containerd.log" >&2; die "containerd does not answer on $SOCK"; }
  fi
  if ! ctr_ images ls -q | grep -qx "$PAUSE_IMAGE"; then
    # The sandbox image, built here from the static pause binary (FROM scratch).
    local ctx; ctx=$(mktemp -d)
    cp "$NODE_BIN/pause" "$ctx/pause"; printf 'FROM scratch\nCOPY pause /pause\nENTRYPOINT ["/pause"]\n' > "$ctx/Dockerfile"
    docker build -q -t "${PAUSE_IMAGE#docker.io/}" "$ctx" >/dev/null || die "docker could not build the pause image"
    rm -rf "$ctx"
    import_images "${PAUSE_IMAGE#docker.io/}"
  fi
  if ! ip -4 addr show dev "$BRIDGE" 2>/dev/null | grep -q "inet $NODE_IP/"; then
    # The bridge plugin takes an existing bridge that holds its gateway address.
    ip link show "$BRIDGE" >/dev/null 2>&1 || ip link add "$BRIDGE" type bridge || die "could not create the bridge $BRIDGE (needs CAP_NET_ADMIN)"
    ip addr add "$NODE_IP/16" dev "$BRIDGE" 2>/dev/null || ip -4 addr show dev "$BRIDGE" | grep -q "inet $NODE_IP/" || die "could not give $BRIDGE the address $NODE_IP/16"
  fi
  ip link set "$BRIDGE" up || die "could not bring $BRIDGE up"
  if running kubelet; then say "kubelet: already running (pid $(pid_of kubelet))"; else
    say "starting the kubelet as node $NODE_NAME..."
    launch kubelet "$KUBELET" --config "$NODE_DIR/kubelet.yaml" --kubeconfig "$NODE_DIR/kubelet.kubeconfig" \
      --root-dir "$NODE_DIR/kubelet" --hostname-override "$NODE_NAME" --node-ip "$NODE_IP" --v=1
  fi
  # `kubectl wait` fails at once on a Node that is not registered yet: wait for it to exist first.
  local n
  for n in $(seq 1 180); do kubectl_ get node "$NODE_NAME" >/dev/null 2>&1 && break; running kubelet || break; sleep 0.5; done
  kubectl_ wait --for=condition=Ready --timeout=90s "node/$NODE_NAME" >/dev/null 2>&1 \
    || { tail -n 20 "$NODE_DIR/logs/kubelet.log" >&2; die "node $NODE_NAME was not Ready in 90 s (kubelet log above: $NODE_DIR/logs/kubelet.log)"; }
  if running kube-proxy; then say "kube-proxy: already running (pid $(pid_of kube-proxy))"; else
    say "starting kube-proxy (iptables)..."
    launch kube-proxy "$KUBE_PROXY" --config "$NODE_DIR/kube-proxy.yaml" --v=1
  fi
  for n in $(seq 1 100); do curl -fsS --max-time 1 "http://127.0.0.1:$PROXY_HEALTHZ_PORT/healthz" >/dev/null 2>&1 && break; running kube-proxy || break; sleep 0.2; done
  curl -fsS --max-time 1 "http://127.0.0.1:$PROXY_HEALTHZ_PORT/healthz" >/dev/null 2>&1 \
    || { tail -n 20 "$NODE_DIR/logs/kube-proxy.log" >&2; die "kube-proxy is not healthy on 127.0.0.1:$PROXY_HEALTHZ_PORT (log above: $NODE_DIR/logs/kube-proxy.log)"; }
  say "node $NODE_NAME Ready in $((SECONDS - t)) s (pods on $POD_SUBNET, Services through kube-proxy)"
}

halt() { # NAME LABEL: TERM, up to 5 s to go, then KILL
  local pid i
  pid=$(pid_of "$1"); kill -TERM "$pid" 2>/dev/null || true
  for i in $(seq 1 50); do running "$1" || break; sleep 0.1; done
  running "$1" && kill -KILL "$pid" 2>/dev/null || true
  say "stopped $2 (pid $pid)"
}

stop() {
  mkdir -p "$NODE_DIR/logs"
  local c
  running kube-proxy && halt kube-proxy "kube-proxy"
  # Its KUBE-* chains outlive it; --cleanup removes only those.
  if [ -x "$KUBE_PROXY" ] && command -v iptables-save >/dev/null && iptables-save 2>/dev/null | grep -q '^:KUBE-'; then
    "$KUBE_PROXY" --cleanup >>"$NODE_DIR/logs/kube-proxy.log" 2>&1 || say "kube-proxy --cleanup failed (log: $NODE_DIR/logs/kube-proxy.log)"
  fi
  running kubelet && halt kubelet "the kubelet"
  if running containerd; then
    # Every container the kubelet ran: their tasks, then the containers (and their snapshots).
    for c in $(ctr_ tasks ls -q 2>/dev/null); do ctr_ tasks kill -s KILL "$c" >/dev/null 2>&1 || true; done
    sleep 0.5
    for c in $(ctr_ containers ls -q 2>/dev/null); do ctr_ tasks rm -f "$c" >/dev/null 2>&1 || true; ctr_ containers rm "$c" >/dev/null 2>&1 || true; done
    halt containerd "containerd and the pods' containers"
  fi
  pkill -f "containerd-shim-runc-v2 .*-address $SOCK" 2>/dev/null || true
  # Pod volumes and network namespaces the kubelet and CNI left mounted.
  grep -o " $NODE_DIR/kubelet[^ ]*" /proc/mounts 2>/dev/null | sort -r | while read -r m; do umount -l "$m" 2>/dev/null || true; done || true
  kubelet_chains_cleanup
  ip link delete "$BRIDGE" 2>/dev/null || true
  rm -rf "$NODE_DIR/cni-ipam"
  rm -f "$NODE_DIR/kubelet.pid" "$NODE_DIR/containerd.pid" "$NODE_DIR/kube-proxy.pid"
  [ -s "$DIR/kubeconfig" ] && kubectl_ delete node "$NODE_NAME" --ignore-not-found --wait=false >/dev/null 2>&1 || true
}

# The kubelet's own chains (KUBE-FIREWALL, KUBE-KUBELET-CANARY, KUBE-IPTABLES-HINT), which
# kube-proxy --cleanup leaves: removed unless another kubelet or kube-proxy on this host uses them.
kubelet_chains_cleanup() {
  local ipt table line chain rules chains i
  # Ours may take a moment to be gone after its pid file says stopped.
  for i in $(seq 1 50); do pgrep -x kubelet >/dev/null || pgrep -x kube-proxy >/dev/null || break; sleep 0.1; done
  if pgrep -x kubelet >/dev/null || pgrep -x kube-proxy >/dev/null; then
    say "another kubelet or kube-proxy runs on this host: its KUBE-* iptables chains are left alone"; return 0
  fi
  for ipt in iptables ip6tables; do
    command -v "$ipt-save" >/dev/null || continue
    for table in filter nat mangle; do
      # Jumps from the built-in chains first, then the chains themselves.
      rules=$("$ipt-save" -t "$table" 2>/dev/null) || continue
      while read -r line; do
        [ -n "$line" ] && { eval "$ipt -w -t $table -D ${line#-A }" 2>/dev/null || true; }
      done <<<"$(grep -E '^-A (INPUT|OUTPUT|FORWARD|PREROUTING|POSTROUTING) .*-j KUBE-' <<<"$rules" || true)"
      chains=$(sed -n 's/^:\(KUBE-[^ ]*\) .*/\1/p' <<<"$rules")
      for chain in $chains; do "$ipt" -w -t "$table" -F "$chain" 2>/dev/null || true; done
      for chain in $chains; do "$ipt" -w -t "$table" -X "$chain" 2>/dev/null || true; done
    done
  done
}

status() {
  local ok=0 c
  for c in containerd kubelet kube-proxy; do
    if running "$c"; then echo "  $c: running (pid $(pid_of "$c"))"; else echo "  $c: stopped"; ok=1; fi
  done
  return "$ok"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) status ;;
  import) shift; [ $# -gt 0 ] || die "usage: $0 import IMAGE..."; import_images "$@" ;;
  *) die "usage: $0 start|stop|status|import IMAGE..." ;;
esac
