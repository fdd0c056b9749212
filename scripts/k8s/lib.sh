# Shared by scripts/k8s-up and scripts/k8s-down: where the test cluster lives, its addresses,
# and how its processes are started and stopped. Sourced, not run.
#
# Addresses keep clear of skiff's own container network (skiff0, 10.89.0.0/16) and of the
# ephemeral ports the test registry and PostgreSQL pick (32768 and up).
state=${SKIFF_K8S_STATE:-/var/tmp/skiff-k8s}
pki=$state/pki          # kept by k8s-down: CA, certificates, service-account key
registry_dir=$state/registry  # kept: the cluster's images
conf=$state/conf        # rewritten only when its content changes (kube-proxy exits otherwise)
run=$state/run          # pid files and sockets
logs=$state/logs
data=$state/data        # etcd, containerd, kubelet, CNI: removed by k8s-down
volumes=$state/volumes  # the provisioner's volumes, a directory per claim: removed by k8s-down

node=skiff-k8s-node
node_ip=10.245.0.1
node_link=skiffk8s-node   # an empty bridge that holds the node IP (no "dummy" links here)
pod_bridge=skiffk8s-pods
cluster_cidr=10.244.0.0/16
pod_cidr=10.244.0.0/24
service_cidr=10.96.0.0/24
api_port=16443
api=https://127.0.0.1:$api_port
etcd_port=12379
etcd_peer_port=12380
registry=127.0.0.1:15055

# Sysctls the kubelet sets on the host (vm.overcommit_memory=1, kernel.panic=10, ...):
# k8s-up saves them before the kubelet starts and k8s-down puts them back.
kubelet_sysctls="vm.overcommit_memory vm.panic_on_oom kernel.panic kernel.panic_on_oops
  kernel.keys.root_maxkeys kernel.keys.root_maxbytes"

k8s_log() { echo "k8s: $*" >&2; }

# The pid in run/NAME.pid if that process is alive and still runs the program k8s_start
# started (pids get reused).
k8s_pid() {
  local name=$1 pid
  [ -f "$run/$name.pid" ] || return 1
  read -r pid < "$run/$name.pid" || return 1
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 1
  [ "$(cat "$run/$name.program" 2>/dev/null)" = "$(readlink "/proc/$pid/exe" 2>/dev/null)" ] || return 1
  echo "$pid"
}

# Stops the named components together: SIGTERM, up to 10 s, then SIGKILL.
k8s_stop() {
  local name pid pids=""
  for name in "$@"; do
    if pid=$(k8s_pid "$name"); then
      kill "$pid" 2>/dev/null && pids="$pids $pid"
    fi
    rm -f "$run/$name.pid" "$run/$name.program"
  done
  [ -n "$pids" ] || return 0
  local i
  for i in $(seq 40); do
    local alive=0
    for pid in $pids; do kill -0 "$pid" 2>/dev/null && alive=1; done
    [ $alive = 0 ] && return 0
    sleep 0.25
  done
  for pid in $pids; do kill -9 "$pid" 2>/dev/null || true; done
}

# Starts NAME (PROGRAM ARGS...) in a session of its own unless it runs already; its output
# goes to logs/NAME.log, started afresh.
k8s_start() {
  local name=$1
  shift
  k8s_pid "$name" >/dev/null && return 0
  k8s_log "starting $name"
  readlink -f "$1" > "$run/$name.program"
  setsid "$@" > "$logs/$name.log" 2>&1 < /dev/null 9>&- &  # 9: k8s_lock's
  echo $! > "$run/$name.pid"
}

# One k8s-up or k8s-down at a time (two ctest runs may start together).
k8s_lock() {
  mkdir -p "$state"
  exec 9> "$state/lock"
  flock 9
}
