#!/usr/bin/env bash
# Starts the real servers the integration and e2e tiers talk to, on loopback, without
# systemd or Docker. Idempotent: a peer that already answers is left alone. Run as root.
#
#   PostgreSQL   127.0.0.1:5432  (the machine's cluster, pg_ctlcluster)
#   Redis        127.0.0.1:6379
#   RabbitMQ     127.0.0.1:5672
# Ports below are for TEST_PEERS_PORT_OFFSET=0 (the default); an offset is added to each.
#   OpenSSH      127.0.0.1:2222  sftpuser/sftppass + key $BASE/sshd/client_ed25519 (internal-sftp)
#   Samba strict 127.0.0.1:4445  SMB3 only, signing mandatory, NTLMv2 only: shares backup, readonly
#   Samba legacy 127.0.0.1:4446  SMB2_02+, NTLMv1 permitted, no signing required: share backup
#   SMTP sink    127.0.0.1:2525  any auth; each mail stored as $BASE/smtp/mail/*.eml
#   S3 (s3rver)  127.0.0.1:4568  path-style, access key S3RVER / secret S3RVER, bucket pbx-test;
#                objects stored below $BASE/s3/data/<bucket>/ (no Object Lock, see docs/destinations.md)
#
# Throwaway configs and data live under $BASE (default <repo>/var/test-peers, env TEST_PEERS_DIR).
# Optional argument: only one peer (infra|sshd|samba|samba-legacy|smtp|s3), or `stop` to stop the
# peers this checkout started (npm run test-peers:stop). A peer on one of these ports that
# another checkout started is stopped and replaced: its host keys, shares and mail folder are
# not this checkout's, and tests against it fail in misleading ways.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BASE=${TEST_PEERS_DIR:-$REPO/var/test-peers}
ONLY=${1:-all}
# TEST_PEERS_PORT_OFFSET moves all five ports, so two checkouts can run their tests at once.
OFF=${TEST_PEERS_PORT_OFFSET:-0}
SSH_PORT=$((2222 + OFF))
SMB_PORT=$((4445 + OFF))
SMB_LEGACY_PORT=$((4446 + OFF))
SMTP_PORT=$((2525 + OFF))
S3_PORT=$((4568 + OFF))
export DEBIAN_FRONTEND=noninteractive

if [[ $(id -u) -ne 0 ]]; then
  echo "test-peers.sh must run as root (it creates users and starts daemons)" >&2
  exit 1
fi

now() { date +%s.%N; }
took() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }
want() { [[ $ONLY == all || $ONLY == "$1" ]]; }
FAILED=()

# wait_for NAME TIMEOUT_SECONDS CMD... — polls CMD until it succeeds (bounded).
wait_for() {
  local name=$1 timeout=$2 start i
  shift 2
  start=$(now)
  for ((i = 0; i < timeout * 5; i++)); do
    if "$@" >/dev/null 2>&1; then
      echo "  $name answers (waited $(took "$start")s)"
      return 0
    fi
    sleep 0.2
  done
  echo "  $name did NOT answer within ${timeout}s" >&2
  return 1
}
tcp_open() { timeout 2 bash -c "exec 3<>/dev/tcp/127.0.0.1/$1" 2>/dev/null; }
# Every process with a listening socket on PORT.
listeners() { ss -Hltnp "sport = :$1" 2>/dev/null | grep -o 'pid=[0-9]*' | cut -d= -f2 | sort -u; }
# Is PID a peer of this checkout? Its command line or environment names $BASE.
ours() { tr '\0' '\n' <"/proc/$1/cmdline" 2>/dev/null | grep -qF "$BASE" || tr '\0' '\n' <"/proc/$1/environ" 2>/dev/null | grep -qF "$BASE"; }
# Stops every process listening on PORT that is not this checkout's own peer (Samba binds
# with SO_REUSEPORT, so a foreign smbd can share the port with ours and take half the connections).
evict_foreign() {
  local port=$1 foreign=() pid i
  for pid in $(listeners "$port"); do ours "$pid" || foreign+=("$pid"); done
  ((${#foreign[@]})) || return 0
  echo "  port $port is held by another checkout's peer (pid ${foreign[*]}): stopping it"
  kill "${foreign[@]}" 2>/dev/null || true
  for ((i = 0; i < 50; i++)); do
    kill -0 "${foreign[@]}" 2>/dev/null || return 0
    sleep 0.1
  done
  kill -9 "${foreign[@]}" 2>/dev/null || true
}
# stop_pidfile FILE: stops the daemon whose pid FILE names (this checkout's).
stop_pidfile() {
  [[ -s $1 ]] || return 0
  local pid
  pid=$(cat "$1")
  kill "$pid" 2>/dev/null && echo "  stopped pid $pid ($1)"
  rm -f "$1"
}
ensure_user() { # NAME PASSWORD HOME SHELL
  id "$1" >/dev/null 2>&1 || useradd -M -d "$3" -s "$4" "$1"
  usermod -d "$3" "$1" >/dev/null 2>&1 || true
  echo "$1:$2" | chpasswd
}
# Daemons that drop privileges (sshd for sftpuser, smbd for smbuser) must be able to walk
# down to $BASE: every ancestor needs the search (x) bit for "other".
check_traversable() {
  local d=$1
  while [[ $d != / ]]; do
    if [[ $(stat -c %A "$d") != ?????????[xt] ]]; then
      echo "  $d is not searchable by other users; sftpuser/smbuser cannot reach $BASE" >&2
      return 1
    fi
    d=$(dirname "$d")
  done
}

# ------------------------------------------------------------------ packages
ensure_packages() {
  local missing=() cmd pkg
  # command:package pairs; apt-get update only runs when something is missing.
  for pair in /usr/sbin/sshd:openssh-server ssh-keygen:openssh-client ssh-keyscan:openssh-client sftp:openssh-client \
    smbd:samba smbpasswd:samba testparm:samba-common-bin smbclient:smbclient \
    pg_ctlcluster:postgresql-common pg_isready:postgresql-client redis-server:redis-server redis-cli:redis-tools \
    rabbitmq-server:rabbitmq-server node:nodejs; do
    cmd=${pair%%:*} pkg=${pair#*:}
    if ! command -v "$cmd" >/dev/null 2>&1 && [[ ! -x $cmd ]]; then
      [[ $pkg == nodejs ]] && { echo "node is missing: install Node 20 first" >&2; exit 1; }
      [[ $pkg == postgresql-common ]] && pkg=postgresql
      missing+=("$pkg")
    fi
  done
  if ((${#missing[@]})); then
    local t
    t=$(now)
    mapfile -t missing < <(printf '%s\n' "${missing[@]}" | sort -u)
    echo "[packages] installing ${missing[*]}"
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    # Debian's postinst scripts may have started daemons under systemd-less init; fine either way.
    echo "  installed in $(took "$t")s"
  fi
}

# ------------------------------------------------------------------ PostgreSQL / Redis / RabbitMQ
pg_up() { pg_isready -q -h 127.0.0.1 -p 5432; }
start_pg() {
  echo "[postgres] 127.0.0.1:5432"
  if pg_up; then echo "  already running"; return 0; fi
  local t v
  t=$(now)
  v=$(ls /etc/postgresql | sort -V | tail -n1)
  pg_ctlcluster --skip-systemctl-redirect "$v" main start || true
  wait_for postgres 60 pg_up || return 1
  echo "  postgres started in $(took "$t")s"
}
redis_up() { [[ $(redis-cli -h 127.0.0.1 -p 6379 ping 2>/dev/null) == PONG ]]; }
start_redis() {
  echo "[redis] 127.0.0.1:6379"
  if redis_up; then echo "  already running"; return 0; fi
  local t
  t=$(now)
  mkdir -p /var/lib/redis /var/log/redis
  redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
    --dir /var/lib/redis --logfile /var/log/redis/ci.log || true
  wait_for redis 30 redis_up || return 1
  echo "  redis started in $(took "$t")s"
}
# An AMQP 0-9-1 protocol header must be answered by a connection.start method frame (type 1).
amqp_up() {
  timeout 3 bash -c 'exec 3<>/dev/tcp/127.0.0.1/5672; printf "AMQP\x00\x00\x09\x01" >&3; head -c1 <&3 | od -An -tx1' 2>/dev/null | grep -q 01
}
start_rabbitmq() {
  echo "[rabbitmq] 127.0.0.1:5672"
  if amqp_up; then echo "  already running"; return 0; fi
  local t
  t=$(now)
  rabbitmq-server -detached >/dev/null 2>&1 || true
  wait_for rabbitmq 120 amqp_up || return 1
  echo "  rabbitmq started in $(took "$t")s"
}

# ------------------------------------------------------------------ OpenSSH (SFTP)
SSHD_DIR=$BASE/sshd
SFTP_HOME=$BASE/sftp/home
ssh_up() {
  ssh-keyscan -T 2 -t ed25519 -p "$SSH_PORT" 127.0.0.1 2>/dev/null | grep -q ssh-ed25519 &&
    [[ -s $SSHD_DIR/client_ed25519 ]] && [[ -d $SFTP_HOME/readonly ]]
}
start_sshd() {
  echo "[sshd] 127.0.0.1:$SSH_PORT"
  evict_foreign "$SSH_PORT"
  if ssh_up; then echo "  already running"; return 0; fi
  local t
  t=$(now)
  check_traversable "$BASE" || return 1
  mkdir -p "$SSHD_DIR/keys" "$SSHD_DIR/authorized_keys" "$SFTP_HOME" /run/sshd
  chmod 755 "$SSHD_DIR" "$SSHD_DIR/authorized_keys" "$BASE/sftp"
  [[ -s $SSHD_DIR/keys/ssh_host_ed25519_key ]] || ssh-keygen -q -t ed25519 -N '' -C test-peers-host -f "$SSHD_DIR/keys/ssh_host_ed25519_key"
  [[ -s $SSHD_DIR/keys/ssh_host_rsa_key ]] || ssh-keygen -q -t rsa -b 3072 -N '' -C test-peers-host -f "$SSHD_DIR/keys/ssh_host_rsa_key"
  [[ -s $SSHD_DIR/client_ed25519 ]] || ssh-keygen -q -t ed25519 -N '' -C sftpuser@test-peers -f "$SSHD_DIR/client_ed25519"
  # The client key must stay readable for the (root-run) tests only.
  chmod 600 "$SSHD_DIR/client_ed25519"
  ensure_user sftpuser sftppass "$SFTP_HOME" /bin/sh
  chown sftpuser: "$SFTP_HOME"
  chmod 755 "$SFTP_HOME"
  # A directory sftpuser may read but not write (sftpRightProblem tests).
  mkdir -p "$SFTP_HOME/readonly"
  chown root:root "$SFTP_HOME/readonly"
  chmod 755 "$SFTP_HOME/readonly"
  install -m 644 "$SSHD_DIR/client_ed25519.pub" "$SSHD_DIR/authorized_keys/sftpuser"
  cat >"$SSHD_DIR/sshd_config" <<EOF
# throwaway test peer, generated by scripts/test-peers.sh
Port $SSH_PORT
ListenAddress 127.0.0.1
HostKey $SSHD_DIR/keys/ssh_host_ed25519_key
HostKey $SSHD_DIR/keys/ssh_host_rsa_key
PidFile $SSHD_DIR/sshd.pid
UsePAM no
PasswordAuthentication yes
KbdInteractiveAuthentication no
PubkeyAuthentication yes
AuthorizedKeysFile $SSHD_DIR/authorized_keys/%u
StrictModes no
PermitRootLogin no
AllowUsers sftpuser
# -d: the login folder ("." in a destination) is this checkout's, whatever the system user's
# home says (another checkout's test-peers.sh may have moved it).
Subsystem sftp internal-sftp -d $SFTP_HOME
ForceCommand internal-sftp -d $SFTP_HOME
MaxStartups 100:30:200
MaxSessions 50
LogLevel INFO
EOF
  /usr/sbin/sshd -t -f "$SSHD_DIR/sshd_config"
  # A stale daemon from an earlier run (config changed, port taken) goes first.
  if [[ -s $SSHD_DIR/sshd.pid ]] && kill -0 "$(cat "$SSHD_DIR/sshd.pid")" 2>/dev/null; then
    kill "$(cat "$SSHD_DIR/sshd.pid")" || true
    sleep 0.5
  fi
  # sshd re-executes itself, so it must be started by its absolute path.
  /usr/sbin/sshd -f "$SSHD_DIR/sshd_config" -E "$SSHD_DIR/sshd.log"
  wait_for sshd 30 ssh_up || return 1
  ssh-keyscan -p "$SSH_PORT" 127.0.0.1 2>/dev/null >"$SSHD_DIR/known_hosts" || true
  echo "  sshd started in $(took "$t")s"
}

# ------------------------------------------------------------------ Samba (two instances)
# write_smb_conf DIR PORT NAME EXTRA_GLOBAL SHARES
write_smb_conf() {
  local D=$1 port=$2 name=$3 extra=$4 shares=$5
  cat >"$D/smb.conf" <<EOF
# throwaway test peer, generated by scripts/test-peers.sh
[global]
  server role = standalone server
  workgroup = WORKGROUP
  netbios name = $name
  disable netbios = yes
  smb ports = $port
  interfaces = 127.0.0.1/8
  bind interfaces only = yes
  pid directory = $D/run
  lock directory = $D/lock
  state directory = $D/state
  cache directory = $D/cache
  private dir = $D/private
  ncalrpc dir = $D/ncalrpc
  binddns dir = $D/bind-dns
  log file = $D/log/log.%m
  max log size = 10000
  log level = 1
  passdb backend = tdbsam:$D/private/passdb.tdb
  map to guest = never
  load printers = no
  printing = bsd
  printcap name = /dev/null
  disable spoolss = yes
  server services = -nbt
$extra
$shares
EOF
}
# smb_up CONF PORT [EXTRA smbclient ARGS]
smb_up() {
  local conf=$1 port=$2
  shift 2
  [[ -s $conf ]] && tcp_open "$port" &&
    smbclient -s "$conf" -p "$port" //127.0.0.1/backup -U smbuser%smbpass "$@" -c 'ls' >/dev/null 2>&1
}
# start_smbd LABEL DIR PORT NETBIOS EXTRA_GLOBAL SHARES CHECK_ARGS...
start_smbd() {
  local label=$1 D=$2 port=$3 name=$4 extra=$5 shares=$6
  shift 6
  echo "[$label] 127.0.0.1:$port"
  evict_foreign "$port"
  if smb_up "$D/smb.conf" "$port" "$@"; then echo "  already running"; return 0; fi
  local t
  t=$(now)
  check_traversable "$BASE" || return 1
  mkdir -p "$D"/{run,lock,state,cache,private,ncalrpc,bind-dns,log,share,readonly}
  chmod 755 "$D"
  ensure_user smbuser smbpass /nonexistent /usr/sbin/nologin
  chown smbuser: "$D/share"
  chmod 775 "$D/share"
  # The read-only share is served read-only by Samba AND owned by root (defence in depth).
  chown root:root "$D/readonly"
  chmod 755 "$D/readonly"
  write_smb_conf "$D" "$port" "$name" "$extra" "$shares"
  testparm -s "$D/smb.conf" >/dev/null 2>&1 || { echo "  testparm rejected $D/smb.conf" >&2; testparm -s "$D/smb.conf" >&2 || true; return 1; }
  printf 'smbpass\nsmbpass\n' | smbpasswd -c "$D/smb.conf" -a -s smbuser >/dev/null 2>&1
  # A stale smbd of this instance (config changed, not answering) goes first.
  if [[ -s $D/run/smbd.pid ]] && kill -0 "$(cat "$D/run/smbd.pid")" 2>/dev/null; then
    kill "$(cat "$D/run/smbd.pid")" || true
    sleep 0.5
  fi
  smbd -D -s "$D/smb.conf"
  wait_for "$label" 30 smb_up "$D/smb.conf" "$port" "$@" || return 1
  echo "  $label started in $(took "$t")s"
}
start_samba_strict() {
  local D=$BASE/samba
  start_smbd samba "$D" "$SMB_PORT" PEERSMB "$(cat <<'EOF'
  # "strict modern": what a current Windows / NAS insists on.
  server min protocol = SMB3
  server signing = mandatory
  ntlm auth = ntlmv2-only
EOF
)" "$(cat <<EOF
[backup]
  path = $D/share
  read only = no
  valid users = smbuser
  force create mode = 0644
  force directory mode = 0755
[readonly]
  path = $D/readonly
  read only = yes
  valid users = smbuser
EOF
)" --option='client min protocol=SMB3' --option='client signing=required'
}
start_samba_legacy() {
  local D=$BASE/samba-legacy
  start_smbd samba-legacy "$D" "$SMB_LEGACY_PORT" PEERSMBLEGACY "$(cat <<'EOF'
  # "legacy": an old NAS that @marsaud/smb2 (SMB 2.0.2, NTLMv1, no signing) can talk to.
  server min protocol = SMB2_02
  ntlm auth = ntlmv1-permitted
  server signing = auto
EOF
)" "$(cat <<EOF
[backup]
  path = $D/share
  read only = no
  valid users = smbuser
  force create mode = 0644
  force directory mode = 0755
EOF
)"
}

# ------------------------------------------------------------------ SMTP sink
SMTP_DIR=$BASE/smtp
smtp_up() { timeout 2 bash -c "exec 3<>/dev/tcp/127.0.0.1/$SMTP_PORT; head -c3 <&3" 2>/dev/null | grep -q 220; }
start_smtp() {
  echo "[smtp-sink] 127.0.0.1:$SMTP_PORT"
  evict_foreign "$SMTP_PORT"
  if smtp_up; then echo "  already running"; return 0; fi
  local t
  t=$(now)
  mkdir -p "$SMTP_DIR/mail"
  if [[ ! -d $REPO/node_modules/smtp-server ]]; then
    echo "  $REPO/node_modules/smtp-server is missing: run npm ci first" >&2
    return 1
  fi
  MAILDIR=$SMTP_DIR/mail SMTP_PORT=$SMTP_PORT \
    setsid nohup node "$REPO/scripts/peers/smtp-sink.js" >"$SMTP_DIR/smtp.log" 2>&1 </dev/null &
  echo $! >"$SMTP_DIR/smtp.pid"
  wait_for smtp-sink 30 smtp_up || return 1
  echo "  smtp sink started in $(took "$t")s"
}

# ------------------------------------------------------------------ S3 (s3rver)
S3_DIR=$BASE/s3
# Any HTTP answer from s3rver (an unsigned ListBuckets is refused with 403 XML, which is fine)
# and the bucket's folder present.
s3_up() { timeout 2 bash -c "exec 3<>/dev/tcp/127.0.0.1/$S3_PORT; printf 'GET / HTTP/1.0\r\n\r\n' >&3; head -c12 <&3" 2>/dev/null | grep -q 'HTTP/1' && [[ -d $S3_DIR/data/pbx-test ]]; }
start_s3() {
  echo "[s3] 127.0.0.1:$S3_PORT"
  evict_foreign "$S3_PORT"
  if s3_up; then echo "  already running"; return 0; fi
  local t
  t=$(now)
  mkdir -p "$S3_DIR/data"
  if [[ ! -x $REPO/node_modules/.bin/s3rver ]]; then
    echo "  $REPO/node_modules/.bin/s3rver is missing: run npm ci first" >&2
    return 1
  fi
  stop_pidfile "$S3_DIR/s3.pid"
  # --configure-bucket creates the shared bucket; tests isolate by key prefix or make their own.
  setsid nohup node "$REPO/node_modules/s3rver/bin/s3rver.js" -d "$S3_DIR/data" -a 127.0.0.1 -p "$S3_PORT" -s \
    --no-vhost-buckets --configure-bucket pbx-test >"$S3_DIR/s3.log" 2>&1 </dev/null &
  echo $! >"$S3_DIR/s3.pid"
  wait_for s3 30 s3_up || return 1
  echo "  s3rver started in $(took "$t")s"
}

# ------------------------------------------------------------------ main
if [[ $ONLY == stop ]]; then
  echo "[stop] test peers of $BASE"
  stop_pidfile "$SSHD_DIR/sshd.pid"
  stop_pidfile "$BASE/samba/run/smbd.pid"
  stop_pidfile "$BASE/samba-legacy/run/smbd.pid"
  stop_pidfile "$SMTP_DIR/smtp.pid"
  stop_pidfile "$BASE/s3/s3.pid"
  exit 0
fi
T0=$(now)
mkdir -p "$BASE"
chmod 755 "$BASE"
ensure_packages
run() { "$@" || FAILED+=("$1"); }
if want infra; then
  run start_pg
  run start_redis
  run start_rabbitmq
fi
want sshd && run start_sshd
want samba && run start_samba_strict
want samba-legacy && run start_samba_legacy
want smtp && run start_smtp
want s3 && run start_s3

if ((${#FAILED[@]})); then
  echo "test peers FAILED: ${FAILED[*]} (after $(took "$T0")s)" >&2
  exit 1
fi
echo "test peers up in $(took "$T0")s"
