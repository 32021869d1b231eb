#!/usr/bin/env bash
# Podman for the container broker (bench/broker/container.go): a Docker API
# that testcontainers-go speaks, on a machine without a Docker engine or an
# image registry, and a locally built Kafka image that reads the same KAFKA_*
# variables as the official apache/kafka image.
#
#   scripts/podman.sh install   apt packages and /etc/containers/containers.conf
#   scripts/podman.sh start     API service on $PODMAN_SOCK; prints the env exports
#   scripts/podman.sh env       prints the env exports again
#   scripts/podman.sh stop      stops the service by PID, removes commitbench's containers
#   scripts/podman.sh image     builds localhost/commitbench-kafka:<version> if missing
#
# Everything stays on this machine: the image is built from Debian's packages
# (debootstrap, with the mirror this machine's apt already uses) and the jars
# that scripts/kafka.sh fetch put in its cache; nothing is pulled. See
# docs/container.md.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PODMAN_SOCK="${PODMAN_SOCK:-/run/podman/podman.sock}"
PODMAN_PIDFILE="${PODMAN_PIDFILE:-/run/podman/commitbench-service.pid}"
PODMAN_LOG="${PODMAN_LOG:-/run/podman/commitbench-service.log}"
PODMAN_CACHE="${PODMAN_CACHE:-$ROOT/.cache/podman}"
IMAGE_REPO="localhost/commitbench-kafka"
# The suite the image's root filesystem comes from: it has openjdk-17.
SUITE=bookworm
PACKAGES=(podman runc netavark aardvark-dns iptables catatonit debootstrap)
CONF=/etc/containers/containers.conf
MARK="# written by commitbench scripts/podman.sh"

die() { echo "podman.sh: $*" >&2; exit 1; }
note() { echo "podman.sh: $*" >&2; }

need_root() { [[ "$(id -u)" == 0 ]] || die "$1 needs root (podman runs rootful here)"; }

# ---------------------------------------------------------------- install

# limit HARD CAP: the smaller of the host's hard limit and CAP.
limit() {
  if [[ "$1" == unlimited ]] || (($1 > $2)); then echo "$2"; else echo "$1"; fi
}

cmd_install() {
  need_root install
  local missing=() p
  for p in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  if ((${#missing[@]})); then
    note "installing ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null ||
      die "apt-get install ${missing[*]} failed; check the apt sources (apt-get update) and retry"
  fi
  # Containers may not ask for more than the host's hard limits: root here
  # cannot raise RLIMIT_NOFILE, and podman's default of 1048576 fails.
  local nofile nproc
  nofile="$(limit "$(ulimit -Hn)" 1048576)"
  nproc="$(limit "$(ulimit -Hu)" 32768)"
  if [[ -f "$CONF" ]] && ! grep -qF "$MARK" "$CONF"; then
    cp -n "$CONF" "$CONF.before-commitbench"
    note "kept the previous $CONF as $CONF.before-commitbench"
  fi
  mkdir -p "$(dirname "$CONF")"
  cat >"$CONF.tmp" <<CONF
$MARK install; rewritten on every install.
[containers]
# Within this host's hard limits (ulimit -Hn, ulimit -Hu at install time).
default_ulimits = ["nofile=$nofile:$nofile", "nproc=$nproc:$nproc"]

[engine]
# crun 1.8 refuses this kind of VM's hybrid cgroup layout.
runtime = "runc"
# Otherwise helper processes of exec-based wait strategies linger for 300 s.
exit_command_delay = 5
CONF
  mv "$CONF.tmp" "$CONF"
  note "podman $(podman version --format '{{.Client.Version}}' 2>/dev/null || echo '?') installed; $CONF: nofile=$nofile nproc=$nproc runtime=runc"
}

# ---------------------------------------------------------------- service

env_lines() {
  cat <<ENV
export DOCKER_HOST=unix://$PODMAN_SOCK
export TESTCONTAINERS_RYUK_DISABLED=true
export TESTCONTAINERS_HOST_OVERRIDE=127.0.0.1
ENV
}

# service_pid: the PID in the pid file if it is our podman system service.
service_pid() {
  local pid
  [[ -f "$PODMAN_PIDFILE" ]] || return 1
  read -r pid <"$PODMAN_PIDFILE" || return 1
  [[ -n "$pid" ]] || return 1
  [[ "$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null)" == *"system service"*"$PODMAN_SOCK"* ]] || return 1
  grep -q '^State:.*Z' "/proc/$pid/status" 2>/dev/null && return 1
  echo "$pid"
}

answers() { podman --url "unix://$PODMAN_SOCK" version >/dev/null 2>&1; }

cmd_start() {
  need_root start
  command -v podman >/dev/null || die "podman is not installed; run scripts/podman.sh install"
  local pid
  if pid="$(service_pid)"; then
    note "podman API service already runs (pid $pid) on unix://$PODMAN_SOCK"
    env_lines
    return 0
  fi
  if [[ -S "$PODMAN_SOCK" ]] && answers; then
    die "another process already serves unix://$PODMAN_SOCK (not started by this script); stop it, or set PODMAN_SOCK to another path"
  fi
  mkdir -p "$(dirname "$PODMAN_SOCK")" "$(dirname "$PODMAN_PIDFILE")"
  rm -f "$PODMAN_SOCK"
  # Its output goes to a file, so that $(scripts/podman.sh start) returns.
  nohup podman system service --time=0 "unix://$PODMAN_SOCK" >"$PODMAN_LOG" 2>&1 </dev/null &
  pid=$!
  echo "$pid" >"$PODMAN_PIDFILE"
  local i
  for ((i = 0; i < 300; i++)); do
    if ! kill -0 "$pid" 2>/dev/null; then
      tail -n 20 "$PODMAN_LOG" >&2
      rm -f "$PODMAN_PIDFILE"
      die "podman system service exited at start (log above, $PODMAN_LOG)"
    fi
    [[ -S "$PODMAN_SOCK" ]] && answers && break
    sleep 0.1
  done
  answers || { kill "$pid" 2>/dev/null; rm -f "$PODMAN_PIDFILE"; die "podman system service did not answer on unix://$PODMAN_SOCK within 30 s (log $PODMAN_LOG)"; }
  note "podman API service pid $pid on unix://$PODMAN_SOCK (log $PODMAN_LOG); stop with scripts/podman.sh stop"
  env_lines
}

cmd_stop() {
  local pid i ids
  # Ryuk (the testcontainers reaper) is disabled here, so remove any
  # container a crashed test left: commitbench labels every one it starts.
  if command -v podman >/dev/null; then
    ids="$(podman ps -aq --filter label=org.testcontainers=true --filter label=commitbench=container-broker 2>/dev/null || true)"
    if [[ -n "$ids" ]]; then
      note "removing containers left behind: $(echo $ids)"
      # shellcheck disable=SC2086
      podman rm -f -t 2 $ids >/dev/null 2>&1 || true
    fi
  fi
  if ! pid="$(service_pid)"; then
    note "no podman API service started by this script is running"
    rm -f "$PODMAN_PIDFILE"
    return 0
  fi
  kill -TERM "$pid"
  for ((i = 0; i < 100; i++)); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$pid" 2>/dev/null; then
    note "pid $pid ignored SIGTERM for 10 s; sending SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -f "$PODMAN_PIDFILE"
  note "stopped the podman API service (pid $pid)"
}

# ---------------------------------------------------------------- image

# mirror: the Debian mirror and keyring this machine's apt uses for $SUITE
# (or, failing that, for any non-security Debian suite), as "URI KEYRING".
mirror() {
  local f
  {
    for f in /etc/apt/sources.list.d/*.sources; do
      [[ -f "$f" ]] || continue
      # deb822: stanzas separated by blank lines.
      awk -v suite="$SUITE" '
        function flush() {
          if (types ~ /(^| )deb( |$)/ && enabled != "no" && uri != "" && suites !~ /security/) {
            n = split(suites, s, " "); rank = 1
            for (i = 1; i <= n; i++) if (s[i] == suite) rank = 0
            print rank, uri, (key == "" ? "-" : key)
          }
          types = ""; uri = ""; suites = ""; key = ""; enabled = ""
        }
        /^[ \t]*$/ { flush(); next }
        /^[ \t]*#/ { next }
        tolower($1) == "types:" { $1 = ""; types = $0 }
        tolower($1) == "uris:" { uri = $2 }
        tolower($1) == "suites:" { $1 = ""; suites = $0 " " }
        tolower($1) == "signed-by:" { key = $2 }
        tolower($1) == "enabled:" { enabled = tolower($2) }
        END { flush() }' "$f"
    done
    for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
      [[ -f "$f" ]] || continue
      # One-line format: deb [options] URI SUITE COMPONENTS...
      awk -v suite="$SUITE" '
        $1 == "deb" {
          i = 2; key = "-"
          if ($2 ~ /^\[/) {
            for (; i <= NF; i++) {
              if ($i ~ /signed-by=/) { key = $i; sub(/.*signed-by=/, "", key); sub(/\]$/, "", key) }
              if ($i ~ /\]$/) { i++; break }
            }
          }
          if ($(i + 1) ~ /security/) next
          print ($(i + 1) == suite ? 0 : 1), $i, key
        }' "$f"
    done
  } | grep -E '^[01] (https?|file):' | grep -E '/debian/?( |$)' | sort -s -k1,1n | head -n1 | cut -d' ' -f2-
}

# base_rootfs: a Debian root filesystem with a Java 17 runtime, cached.
base_rootfs() {
  local base="$PODMAN_CACHE/rootfs-$SUITE-jre17"
  if [[ -f "$base/.complete" ]]; then
    echo "$base"
    return 0
  fi
  command -v debootstrap >/dev/null || die "debootstrap is not installed; run scripts/podman.sh install"
  local m uri key
  m="$(mirror)"
  [[ -n "$m" ]] || die "found no Debian mirror in /etc/apt/sources.list{,.d}; add one to apt's configuration (the image is built from Debian's packages)"
  read -r uri key <<<"$m"
  local args=(--variant=minbase --include=openjdk-17-jre-headless)
  [[ "$key" != "-" && -f "$key" ]] && args+=(--keyring="$key")
  note "building the $SUITE root filesystem with Java 17 in $base.partial (debootstrap from $uri)"
  rm -rf "$base.partial"
  mkdir -p "$PODMAN_CACHE"
  local t0=$SECONDS
  if ! debootstrap "${args[@]}" "$SUITE" "$base.partial" "$uri" >"$PODMAN_CACHE/debootstrap.log" 2>&1; then
    tail -n 20 "$PODMAN_CACHE/debootstrap.log" >&2
    die "debootstrap failed (log above, $PODMAN_CACHE/debootstrap.log); check that apt reaches $uri"
  fi
  # What a container never needs.
  rm -rf "$base.partial"/var/cache/apt/archives/*.deb "$base.partial"/var/lib/apt/lists/* \
    "$base.partial"/usr/share/doc/* "$base.partial"/usr/share/man/* "$base.partial"/usr/share/info/*
  # The official image runs Kafka as appuser (uid 1000).
  grep -q '^appuser:' "$base.partial/etc/passwd" || {
    echo 'appuser:x:1000:1000:Kafka:/home/appuser:/bin/bash' >>"$base.partial/etc/passwd"
    echo 'appuser:x:1000:' >>"$base.partial/etc/group"
    echo 'appuser:*:19000:0:99999:7:::' >>"$base.partial/etc/shadow"
    mkdir -p "$base.partial/home/appuser"
    chown 1000:1000 "$base.partial/home/appuser"
  }
  touch "$base.partial/.complete"
  rm -rf "$base"
  mv "$base.partial" "$base"
  note "root filesystem ready in $((SECONDS - t0)) s ($(du -sh "$base" | cut -f1))"
  echo "$base"
}

cmd_image() {
  need_root image
  command -v podman >/dev/null || die "podman is not installed; run scripts/podman.sh install"
  local version tag
  version="$("$ROOT/scripts/kafka.sh" version)"
  tag="$IMAGE_REPO:$version"
  if podman image exists "$tag"; then
    note "$tag already exists"
    echo "$tag"
    return 0
  fi
  local libs
  if ! libs="$("$ROOT/scripts/kafka.sh" libs 2>/dev/null)"; then
    note "the Kafka $version jars are not cached yet; running scripts/kafka.sh fetch"
    "$ROOT/scripts/kafka.sh" fetch >&2
    libs="$("$ROOT/scripts/kafka.sh" libs)"
  fi
  local t0=$SECONDS base stage
  base="$(base_rootfs)"
  # A hard-linked copy of the cached root filesystem, plus Kafka: only new
  # files are added, so the cache stays as debootstrap left it.
  stage="$(mktemp -d "$PODMAN_CACHE/stage.XXXXXX")"
  # shellcheck disable=SC2064
  trap "rm -rf '$stage'" EXIT
  cp -al "$base/." "$stage/"
  rm -f "$stage/.complete"
  mkdir -p "$stage/opt/kafka/libs" "$stage/opt/kafka/config" "$stage/etc/kafka/docker" \
    "$stage/var/lib/kafka/data" "$stage/mnt/shared/config" "$stage/etc/kafka/secrets"
  cp "$libs"/*.jar "$stage/opt/kafka/libs/"
  echo "$version" >"$stage/opt/kafka/VERSION"
  install -m 0755 "$ROOT/scripts/kafka-image/run" "$stage/etc/kafka/docker/run"
  install -m 0644 "$ROOT/scripts/kafka-image/log4j2.properties" "$stage/etc/kafka/docker/log4j2.properties"
  chown -R 1000:1000 "$stage/opt/kafka" "$stage/etc/kafka" "$stage/var/lib/kafka" "$stage/mnt/shared/config"
  note "importing $tag"
  tar --numeric-owner -C "$stage" -c . |
    podman import -q \
      --change 'CMD ["/etc/kafka/docker/run"]' \
      --change 'USER appuser' \
      --change 'WORKDIR /home/appuser' \
      --change 'EXPOSE 9092' \
      --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
      --change "ENV KAFKA_VERSION=$version" \
      --change "LABEL org.opencontainers.image.title=commitbench-kafka org.opencontainers.image.version=$version" \
      - "$tag" >/dev/null ||
    die "podman import of $tag failed"
  rm -rf "$stage"
  trap - EXIT
  note "built $tag in $((SECONDS - t0)) s"
  echo "$tag"
}

case "${1:-}" in
  install) shift; cmd_install "$@" ;;
  start) shift; cmd_start "$@" ;;
  env) env_lines ;;
  stop) shift; cmd_stop "$@" ;;
  image) shift; cmd_image "$@" ;;
  *) die "usage: scripts/podman.sh install | start | env | stop | image" ;;
esac
