#!/bin/sh
# Init container of the Redis and the Sentinel pods: `init.sh redis` or `init.sh sentinel`.
# Copies redis.conf or sentinel.conf from the ConfigMap into the pod's writable volume and adds only
# what belongs to this pod: its announced DNS name, the current master (from the Sentinels, else from
# the Redis pods themselves, else the StatefulSet's first pod on a first start) and the password
# from the mounted Secret. The password goes into that file and into REDISCLI_AUTH, never argv.
# Every input has a default for the pod and can be set from outside (the tests run this script).
# shellcheck shell=sh
set -eu

role=${1:?usage: init.sh redis|sentinel}
: "${PASSWORD_FILE:=/etc/redis-auth/redis-password}"
: "${SOURCE_DIR:=/etc/redis-source}"
: "${FQDN:=$(hostname -f)}"
# This pod's name is FQDN's first label; the rest is <governing service>.<namespace>.svc.<domain>.
pod=${FQDN%%.*}
domain=${FQDN#*.}
domain=${domain#*.}
: "${REDIS_PORT:=6379}"
: "${SENTINEL_PORT:=26379}"
: "${MASTER_NAME:=mymaster}"
# The Sentinels' client Service, and the Redis pods (StatefulSet `redis`, 3 replicas).
: "${SENTINELS:=redis-sentinel.$domain:$SENTINEL_PORT}"
: "${REDIS_NODES:=redis-0.redis-headless.$domain:$REDIS_PORT redis-1.redis-headless.$domain:$REDIS_PORT redis-2.redis-headless.$domain:$REDIS_PORT}"

fail() {
  echo "init.sh $role: $*" >&2
  exit 1
}

password=$(cat "$PASSWORD_FILE")
case $password in
'' | REPLACE-ME*) fail "the Secret redis-auth holds no password yet, or the example's placeholder: see deploy/redis/README.md" ;;
*[!A-Za-z0-9._~-]*) fail "the password may hold letters, digits and . _ ~ - only (make one with: openssl rand -hex 32)" ;;
esac
[ ${#password} -ge 16 ] || fail "the password is shorter than 16 characters"

cli() {
  host=${1%:*}
  port=${1##*:}
  shift
  REDISCLI_AUTH=$password timeout 3 redis-cli --no-auth-warning -h "$host" -p "$port" "$@" 2>/dev/null
}

# "host port" of the master the Sentinels name; else of the Redis node that says it is a master with
# replicas attached (a lone master may be a restarted old master: only if there is no other);
# else nothing.
current_master() {
  for sentinel in $SENTINELS; do
    answer=$(cli "$sentinel" SENTINEL get-master-addr-by-name "$MASTER_NAME" | tr '\n' ' ') || answer=""
    # shellcheck disable=SC2086 # split "host port" into words
    set -- $answer
    if [ $# -eq 2 ]; then
      echo "$1 $2"
      return
    fi
  done
  for pattern in '*role:master*connected_slaves:[1-9]*' '*role:master*'; do
    for node in $REDIS_NODES; do
      info=$(cli "$node" INFO replication | tr -d '\r') || continue
      # shellcheck disable=SC2254 # the pattern is meant to match
      case $info in
      $pattern)
        echo "${node%:*} ${node##*:}"
        return
        ;;
      esac
    done
  done
}

first=${REDIS_NODES%% *}
master=$(current_master)
[ -n "$master" ] || master="${first%:*} ${first##*:}"
master_host=${master% *}
master_port=${master#* }
echo "init.sh $role: $pod sees master $master_host:$master_port"

umask 077
case $role in
redis)
  target=${TARGET:-/etc/redis/redis.conf}
  {
    cat "$SOURCE_DIR/redis.conf"
    printf '\n# Added by init.sh for pod %s.\n' "$pod"
    # The pod network, behind the NetworkPolicy and the password; no systemd in a container.
    printf 'bind * -::*\nsupervised no\n'
    printf 'replica-announce-ip %s\n' "$FQDN"
    if [ "$master_host" != "$FQDN" ]; then printf 'replicaof %s %s\n' "$master_host" "$master_port"; fi
    printf 'requirepass %s\nmasterauth %s\n' "$password" "$password"
  } >"$target"
  ;;
sentinel)
  target=${TARGET:-/etc/redis-sentinel/sentinel.conf}
  {
    while IFS= read -r line || [ -n "$line" ]; do
      case $line in
      "sentinel monitor $MASTER_NAME "*)
        # shellcheck disable=SC2086 # split the directive into its words; $6 is the quorum
        set -- $line
        printf 'sentinel monitor %s %s %s %s\n' "$MASTER_NAME" "$master_host" "$master_port" "$6"
        ;;
      *) printf '%s\n' "$line" ;;
      esac
    done <"$SOURCE_DIR/sentinel.conf"
    printf '\n# Added by init.sh for pod %s.\n' "$pod"
    printf 'sentinel announce-ip %s\n' "$FQDN"
    printf 'sentinel auth-pass %s %s\n' "$MASTER_NAME" "$password"
    # Clients and the other Sentinels authenticate with the same password.
    printf 'requirepass %s\n' "$password"
  } >"$target"
  ;;
*) fail "expects redis or sentinel, got: $role" ;;
esac
echo "init.sh $role: wrote $target"
