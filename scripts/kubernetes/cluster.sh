#!/usr/bin/env bash
# A real Kubernetes control plane on loopback, with fake (kwok) nodes: etcd, kube-apiserver,
# kube-controller-manager, kube-scheduler and kwok, built by scripts/toolchain/kubernetes-binaries.sh.
# Usage: cluster.sh start|stop|status|env|purge
#   start   starts whatever is not running (idempotent), waits for /readyz and Ready nodes,
#           writes $DIR/kubeconfig (cluster-admin)
#   stop    stops every process it started; state (etcd data, certificates) stays for the next start
#   status  what runs; exits 1 unless everything does and the API server is ready
#   env     prints `export KUBECONFIG=...` and `export MODELPLANE_KUBECTL=...` (the matching kubectl)
#   purge   stop, then delete $DIR
# State, logs and pid files live in DIR=${MODELPLANE_KUBE_DIR:-$MODELPLANE_STATE/kubernetes}.
# The processes run in their own sessions, so they outlive the shell that started them.
# Why no real pods: see docs/toolchain.md, "Kubernetes control plane".
set -euo pipefail
. "$(dirname "$0")/../env.sh"

VERSION=${KUBERNETES_VERSION:-v1.37.2}
TOOL_DIR=$MODELPLANE_CACHE/toolchain/kubernetes-$VERSION
BIN=$TOOL_DIR/bin
STAGES=$TOOL_DIR/kwok-stages/stages.yaml
ETCD=${MODELPLANE_KUBE_ETCD:-$(command -v etcd || echo /usr/bin/etcd)}
DIR=${MODELPLANE_KUBE_DIR:-$MODELPLANE_STATE/kubernetes}
# Ports apart from a default etcd (2379/2380) and a default control plane (6443/10257/10259).
API_PORT=${MODELPLANE_KUBE_API_PORT:-16443}
ETCD_PORT=${MODELPLANE_KUBE_ETCD_PORT:-23790}
ETCD_PEER_PORT=${MODELPLANE_KUBE_ETCD_PEER_PORT:-23800}
KCM_PORT=${MODELPLANE_KUBE_CONTROLLER_MANAGER_PORT:-16257}
SCHED_PORT=${MODELPLANE_KUBE_SCHEDULER_PORT:-16259}
SERVICE_CIDR=10.96.0.0/16
SERVICE_IP=10.96.0.1 # the first service IP: the `kubernetes` Service, so a SAN of the serving cert
POD_CIDR=10.244.0.1/16 # kwok hands out pod IPs from here; its default collides with services
read -ra NODES <<<"${MODELPLANE_KUBE_NODES:-kwok-node-0 kwok-node-1}"
COMPONENTS=(etcd kube-apiserver kube-controller-manager kube-scheduler kwok)
API=https://127.0.0.1:$API_PORT

die() { echo "error: $*" >&2; exit 1; }
say() { echo "  kubernetes: $*"; }

binary() { case "$1" in etcd) echo "$ETCD" ;; *) echo "$BIN/$1" ;; esac; }
pid_of() { cat "$DIR/$1.pid" 2>/dev/null || true; }
# Running = the pid in the pid file is alive and is still that component's binary (not a reused pid).
running() {
  local pid exe
  pid=$(pid_of "$1"); [ -n "$pid" ] || return 1
  exe=$(readlink "/proc/$pid/exe" 2>/dev/null) || return 1
  [ "${exe% (deleted)}" = "$(readlink -f "$(binary "$1")")" ]
}
port_busy() { [ -n "$(ss -Hltn "sport = :$1" 2>/dev/null)" ]; }

admin_curl() { curl -fsS --max-time 5 --cacert "$DIR/pki/ca.crt" --cert "$DIR/pki/admin.crt" --key "$DIR/pki/admin.key" "$API$1"; }
api_ready() { [ "$(admin_curl /readyz 2>/dev/null)" = ok ]; }
kubectl_() { "$BIN/kubectl" --kubeconfig "$DIR/kubeconfig" "$@"; }

# --- certificates ---------------------------------------------------------------------------
pki() {
  local p=$DIR/pki
  mkdir -p "$p"; chmod 700 "$p"
  [ -s "$p/ca.crt" ] || openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=modelplane-local-ca" \
    -keyout "$p/ca.key" -out "$p/ca.crt" 2>/dev/null || die "openssl could not make the CA in $p"
  if [ ! -s "$p/apiserver.crt" ]; then
    cat > "$p/apiserver.ext" <<EOF
basicConstraints=CA:FALSE
keyUsage=digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth
subjectAltName=IP:127.0.0.1,IP:$SERVICE_IP,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local
EOF
    sign apiserver "/CN=kube-apiserver" "$p/apiserver.ext"
  fi
  printf 'basicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=clientAuth\n' > "$p/client.ext"
  # Each component as the identity the default RBAC roles are bound to; kwok acts for the nodes.
  [ -s "$p/admin.crt" ] || sign admin "/O=system:masters/CN=modelplane-admin" "$p/client.ext"
  [ -s "$p/controller-manager.crt" ] || sign controller-manager "/CN=system:kube-controller-manager" "$p/client.ext"
  [ -s "$p/scheduler.crt" ] || sign scheduler "/CN=system:kube-scheduler" "$p/client.ext"
  [ -s "$p/kwok.crt" ] || sign kwok "/O=system:masters/CN=kwok" "$p/client.ext"
  if [ ! -s "$p/sa.pub" ]; then
    openssl genrsa -out "$p/sa.key" 2048 2>/dev/null && openssl rsa -in "$p/sa.key" -pubout -out "$p/sa.pub" 2>/dev/null \
      || die "openssl could not make the service-account key pair in $p"
  fi
}
sign() { # NAME SUBJECT EXTFILE
  local p=$DIR/pki
  openssl req -newkey rsa:2048 -nodes -subj "$2" -keyout "$p/$1.key" -out "$p/$1.csr" 2>/dev/null \
    && openssl x509 -req -in "$p/$1.csr" -CA "$p/ca.crt" -CAkey "$p/ca.key" -CAcreateserial -days 3650 \
      -extfile "$3" -out "$p/$1.crt" 2>/dev/null \
    || die "openssl could not sign $1's certificate in $p"
  rm -f "$p/$1.csr"
}
kubeconfig() { # NAME -> $DIR/<NAME>.kubeconfig (admin -> $DIR/kubeconfig), certificates embedded
  local out=$DIR/$1.kubeconfig p=$DIR/pki
  [ "$1" = admin ] && out=$DIR/kubeconfig
  (umask 077; : > "$out.tmp")
  cat > "$out.tmp" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: modelplane-local
  cluster:
    server: $API
    certificate-authority-data: $(base64 -w0 "$p/ca.crt")
users:
- name: $1
  user:
    client-certificate-data: $(base64 -w0 "$p/$1.crt")
    client-key-data: $(base64 -w0 "$p/$1.key")
contexts:
- name: modelplane-local
  context:
    cluster: modelplane-local
    user: $1
current-context: modelplane-local
EOF
  mv "$out.tmp" "$out"
}

# --- processes ------------------------------------------------------------------------------
launch() { # NAME ARGS...: in its own session, its pid written by itself before exec
  local name=$1; shift
  : > "$DIR/$name.pid"
  echo "--- $(date -u +%FT%TZ) start" >> "$DIR/logs/$name.log"
  setsid sh -c 'echo $$ > "$0"; exec "$@"' "$DIR/$name.pid" "$(binary "$name")" "$@" \
    </dev/null >>"$DIR/logs/$name.log" 2>&1 9>&- & # 9: the start lock, not to be held by the process
  local i
  # Until the shell has exec'd the binary (its pid file is written just before).
  for i in $(seq 1 100); do running "$name" && return 0; sleep 0.05; done
  tail -n 15 "$DIR/logs/$name.log" >&2
  die "$name did not start (log above: $DIR/logs/$name.log)"
}
wait_for() { # NAME SECONDS CHECK...: until CHECK succeeds; fails early if NAME died
  local name=$1 secs=$2 t=$SECONDS; shift 2
  until "$@" >/dev/null 2>&1; do
    if ! running "$name"; then
      tail -n 15 "$DIR/logs/$name.log" >&2
      die "$name exited while starting (log above: $DIR/logs/$name.log)"
    fi
    [ $((SECONDS - t)) -lt "$secs" ] || { tail -n 15 "$DIR/logs/$name.log" >&2; die "$name was not ready after $secs s (log above: $DIR/logs/$name.log)"; }
    sleep 0.3
  done
}
need_port() { # NAME PORT
  port_busy "$2" && die "port 127.0.0.1:$2 for $1 is taken by another process ($(ss -Hltnp "sport = :$2" | sed 's/.*users://' | head -n1)); stop it or set MODELPLANE_KUBE_*_PORT (see the top of $0)"
  return 0
}
healthz() { curl -fsSk --max-time 3 "https://127.0.0.1:$1/healthz"; }
etcd_health() { curl -fsS --max-time 3 "http://127.0.0.1:$ETCD_PORT/health" | grep -q '"health":"true"'; }

start_etcd() {
  need_port etcd "$ETCD_PORT"; need_port "etcd (peer)" "$ETCD_PEER_PORT"
  launch etcd --name modelplane --data-dir "$DIR/etcd" \
    --listen-client-urls "http://127.0.0.1:$ETCD_PORT" --advertise-client-urls "http://127.0.0.1:$ETCD_PORT" \
    --listen-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" --initial-advertise-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" \
    --initial-cluster "modelplane=http://127.0.0.1:$ETCD_PEER_PORT" --logger zap --log-level warn
  wait_for etcd 30 etcd_health
}
start_apiserver() {
  local p=$DIR/pki
  need_port kube-apiserver "$API_PORT"
  # --endpoint-reconciler-type=none: with a loopback advertise address the reconciler refuses
  # to start the server.
  # WatchList=false: Debian's etcd 3.4 lacks RequestWatchProgress, so streaming lists kept ending
  # mid-watch and kwok saw pod changes only on relists (a Job's last pod completed after minutes);
  # refused up front, clients fall back to LIST+WATCH at once.
  launch kube-apiserver --etcd-servers "http://127.0.0.1:$ETCD_PORT" \
    --bind-address 127.0.0.1 --advertise-address 127.0.0.1 --secure-port "$API_PORT" \
    --tls-cert-file "$p/apiserver.crt" --tls-private-key-file "$p/apiserver.key" --client-ca-file "$p/ca.crt" \
    --service-account-key-file "$p/sa.pub" --service-account-signing-key-file "$p/sa.key" \
    --service-account-issuer https://kubernetes.default.svc --service-cluster-ip-range "$SERVICE_CIDR" \
    --authorization-mode Node,RBAC --endpoint-reconciler-type none --allow-privileged=true \
    --cert-dir "$DIR/kube-apiserver" --profiling=false --feature-gates WatchList=false
  wait_for kube-apiserver 60 api_ready
}
start_controller_manager() {
  local p=$DIR/pki k=$DIR/controller-manager.kubeconfig
  need_port kube-controller-manager "$KCM_PORT"
  launch kube-controller-manager --kubeconfig "$k" --authentication-kubeconfig "$k" --authorization-kubeconfig "$k" \
    --bind-address 127.0.0.1 --secure-port "$KCM_PORT" --cert-dir "$DIR/kube-controller-manager" \
    --leader-elect=false --use-service-account-credentials=true \
    --service-account-private-key-file "$p/sa.key" --root-ca-file "$p/ca.crt" \
    --cluster-signing-cert-file "$p/ca.crt" --cluster-signing-key-file "$p/ca.key" \
    --service-cluster-ip-range "$SERVICE_CIDR" --allocate-node-cidrs=false --profiling=false \
    --enable-hostpath-provisioner=true
  wait_for kube-controller-manager 60 healthz "$KCM_PORT"
}
start_scheduler() {
  local k=$DIR/scheduler.kubeconfig
  need_port kube-scheduler "$SCHED_PORT"
  launch kube-scheduler --kubeconfig "$k" --authentication-kubeconfig "$k" --authorization-kubeconfig "$k" \
    --bind-address 127.0.0.1 --secure-port "$SCHED_PORT" --cert-dir "$DIR/kube-scheduler" \
    --leader-elect=false --profiling=false
  wait_for kube-scheduler 60 healthz "$SCHED_PORT"
}
start_kwok() {
  # Only nodes annotated kwok.x-k8s.io/node=fake are kwok's; a lease per node keeps them Ready.
  launch kwok --kubeconfig "$DIR/kwok.kubeconfig" --config "$STAGES" \
    --manage-all-nodes=false --manage-nodes-with-annotation-selector kwok.x-k8s.io/node=fake \
    --node-lease-duration-seconds 40 --cidr "$POD_CIDR"
  sleep 1; running kwok || { tail -n 15 "$DIR/logs/kwok.log" >&2; die "kwok exited at start (log above: $DIR/logs/kwok.log)"; }
}

# Fake nodes: what a GPU node pool would report (the scheduler honours allocatable).
ensure_nodes() {
  local n
  for n in "${NODES[@]}"; do
    kubectl_ get node "$n" >/dev/null 2>&1 && continue
    kubectl_ create -f - >/dev/null <<EOF || die "could not create the fake node $n"
apiVersion: v1
kind: Node
metadata:
  name: $n
  annotations:
    kwok.x-k8s.io/node: fake
    node.alpha.kubernetes.io/ttl: "0"
  labels:
    kubernetes.io/hostname: $n
    kubernetes.io/os: linux
    kubernetes.io/arch: amd64
    type: kwok
status:
  allocatable: {cpu: "16", memory: 64Gi, pods: "110", nvidia.com/gpu: "2"}
  capacity: {cpu: "16", memory: 64Gi, pods: "110", nvidia.com/gpu: "2"}
EOF
    say "created fake node $n (16 CPUs, 64Gi, 2 nvidia.com/gpu)"
  done
}

# A default StorageClass, so PersistentVolumeClaims bind (then pods using them schedule): the
# controller manager's own host-path provisioner makes a directory /tmp/hostpath_pv/<uid> per
# claim and removes it when the claim goes. Test and development only, as its flag says.
ensure_storage_class() {
  kubectl_ get storageclass standard >/dev/null 2>&1 && return 0
  kubectl_ create -f - >/dev/null <<EOF || die "could not create the StorageClass standard"
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata:
  name: standard
  annotations:
    storageclass.kubernetes.io/is-default-class: "true"
provisioner: kubernetes.io/host-path
reclaimPolicy: Delete
volumeBindingMode: Immediate
EOF
  say "created the default StorageClass standard (host-path provisioner, /tmp/hostpath_pv)"
}

check_toolchain() {
  local c
  for c in kube-apiserver kube-controller-manager kube-scheduler kubectl kwok; do
    [ -x "$BIN/$c" ] || die "no $BIN/$c: build the control plane first (bash scripts/toolchain/kubernetes-binaries.sh, or MODELPLANE_KUBERNETES=1 bash scripts/setup.sh)"
  done
  [ -s "$STAGES" ] || die "no kwok stage file $STAGES: rerun bash scripts/toolchain/kubernetes-binaries.sh"
  [ -x "$ETCD" ] || die "no etcd at $ETCD: install Debian's etcd-server (bash scripts/toolchain/kubernetes-binaries.sh does)"
  command -v openssl >/dev/null || die "no openssl on PATH (apt-get install openssl)"
}

start() {
  check_toolchain
  mkdir -p "$DIR/logs"
  exec 9>"$DIR/.lock"; flock 9 # two starts at once must not launch two of each
  local c all=1 t=$SECONDS
  for c in "${COMPONENTS[@]}"; do running "$c" || all=0; done
  if [ "$all" = 1 ] && api_ready; then say "already running ($API, KUBECONFIG=$DIR/kubeconfig)"; return 0; fi
  pki
  local k
  for k in controller-manager scheduler kwok; do [ -s "$DIR/$k.kubeconfig" ] || kubeconfig "$k"; done
  [ -s "$DIR/kubeconfig" ] || kubeconfig admin
  for c in "${COMPONENTS[@]}"; do
    if running "$c"; then say "$c: already running (pid $(pid_of "$c"))"; continue; fi
    say "starting $c..."
    case "$c" in
      etcd) start_etcd ;;
      kube-apiserver) start_apiserver ;;
      kube-controller-manager) start_controller_manager ;;
      kube-scheduler) start_scheduler ;;
      kwok) ensure_nodes; start_kwok ;;
    esac
    say "$c: up (pid $(pid_of "$c"), $((SECONDS - t)) s)"
  done
  ensure_nodes
  ensure_storage_class
  say "waiting for nodes ${NODES[*]} to be Ready..."
  kubectl_ wait --for=condition=Ready --timeout=60s "${NODES[@]/#/node/}" >/dev/null \
    || { tail -n 15 "$DIR/logs/kwok.log" >&2; die "the fake nodes did not become Ready in 60 s (kwok log above: $DIR/logs/kwok.log)"; }
  # Pods need their namespace's `default` ServiceAccount, which the controller manager makes.
  local i
  for i in $(seq 1 100); do kubectl_ get serviceaccount default -n default >/dev/null 2>&1 && break; sleep 0.3; done
  kubectl_ get serviceaccount default -n default >/dev/null 2>&1 \
    || die "no default ServiceAccount after 30 s: the controller manager is not working (log: $DIR/logs/kube-controller-manager.log)"
  say "ready in $((SECONDS - t)) s: $API, KUBECONFIG=$DIR/kubeconfig"
}

stop() {
  [ -d "$DIR" ] || { say "not running (no $DIR)"; return 0; }
  mkdir -p "$DIR/logs"
  exec 9>"$DIR/.lock"; flock 9
  local c pid i any=0
  # Reverse order: the clients before the API server, the API server before etcd.
  for c in kwok kube-scheduler kube-controller-manager kube-apiserver etcd; do
    running "$c" || { rm -f "$DIR/$c.pid"; continue; }
    pid=$(pid_of "$c"); any=1
    kill -TERM "$pid" 2>/dev/null || true
    for i in $(seq 1 100); do running "$c" || break; sleep 0.1; done
    if running "$c"; then kill -KILL "$pid" 2>/dev/null || true; sleep 0.2; fi
    running "$c" && die "could not stop $c (pid $pid)"
    rm -f "$DIR/$c.pid"
    say "stopped $c (pid $pid)"
  done
  [ "$any" = 1 ] || say "not running"
}

status() {
  local c ok=0
  for c in "${COMPONENTS[@]}"; do
    if running "$c"; then echo "  $c: running (pid $(pid_of "$c"))"; else echo "  $c: stopped"; ok=1; fi
  done
  if [ -s "$DIR/kubeconfig" ] && api_ready; then
    echo "  api: ready at $API (KUBECONFIG=$DIR/kubeconfig)"
    kubectl_ get nodes --no-headers 2>/dev/null | sed 's/^/  node: /'
  else echo "  api: not ready"; ok=1; fi
  return "$ok"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) status ;;
  env) echo "export KUBECONFIG=$DIR/kubeconfig"; echo "export MODELPLANE_KUBECTL=$BIN/kubectl" ;;
  purge) stop; rm -rf "$DIR"; say "deleted $DIR" ;;
  *) die "usage: $0 start|stop|status|env|purge" ;;
esac
