# Shared by setup-redis.sh and rollback-redis.sh (sourced, not run): the paths both touch and the
# backup layout that is the contract between them.
# shellcheck shell=bash
# Constants used by the scripts that source this file:
# shellcheck disable=SC2034

# Where things live on the host. Every path the scripts touch is "$ROOT" followed by one of these.
readonly REDIS_CONF=/etc/redis/redis.conf
readonly REDIS_UNIT=/etc/systemd/system/redis-server.service
readonly REDIS_SERVICE=redis-server.service
readonly DEFAULT_APP_ENV=/etc/redis/app.env
readonly DEFAULT_BACKUP_BASE=/var/backups/redis-setup
# A backup directory holds `manifest` and `files/<absolute path>`. One manifest line per change, a
# tab between the two fields:
#   saved   <path>   the file existed; its copy (content, mode, owner, times) is files/<path>
#   absent  <path>   the file did not exist; rollback removes it
#   mkdir   <path>   setup created this directory; rollback removes it when empty
#   active  yes|no   whether the service ran before setup (not under --root)
#   enabled yes|no   whether the service was enabled before setup (not under --root)
readonly MANIFEST=manifest
readonly ROLLED_BACK_SUFFIX=.rolled-back

ROOT=""
DRY_RUN=0

say() { printf '%s: %s\n' "$PROG" "$*"; }
die() {
  printf '%s: %s\n' "$PROG" "$*" >&2
  exit 1
}

# --root DIR: an existing directory, made absolute; "" means the live system.
set_root() {
  [[ -n $1 ]] || die "--root expects a directory"
  [[ -d $1 ]] || die "--root expects an existing directory, got: $1"
  ROOT=$(cd "$1" && pwd -P)
  [[ $ROOT != / ]] || ROOT=""
  ROOT_MODE=1
}
ROOT_MODE=0

# A path the scripts may manage: absolute, no "..", no whitespace or control characters (the
# manifest is line- and tab-separated).
check_path() {
  local what=$1 path=$2
  [[ $path == /* ]] || die "$what expects an absolute path, got: $path"
  [[ $path != *..* ]] || die "$what must not contain '..', got: $path"
  [[ $path =~ ^[[:graph:]]+$ ]] || die "$what must not contain spaces or control characters"
}

require_live_root() {
  ((ROOT_MODE == 1)) || ((EUID == 0)) ||
    die "run as root (sudo), or with --root DIR to work on a copy of the file tree"
}

# verify_redis PORT PASSWORD MAXMEMORY_BYTES POLICY: the Redis on 127.0.0.1:PORT answers PING with
# the password, runs with that maxmemory and policy, and listens on loopback only. Dies otherwise.
# The password reaches redis-cli through REDISCLI_AUTH, never its argument list (function arguments
# stay inside this shell).
verify_redis() {
  local port=$1 password=$2 maxmemory=$3 policy=$4 reply="" actual listeners address
  # A restarted Redis may still be loading its AOF: wait up to 30 s, but not for a refused password.
  for _ in $(seq 1 60); do
    reply=$(REDISCLI_AUTH=$password redis-cli --no-auth-warning -h 127.0.0.1 -p "$port" PING 2>&1 || true)
    case $reply in
    PONG) break ;;
    *WRONGPASS* | *NOAUTH* | *"AUTH failed"*) die "Redis on 127.0.0.1:$port refuses the password: $reply" ;;
    esac
    sleep 0.5
  done
  [[ $reply == PONG ]] || die "Redis does not answer PING on 127.0.0.1:$port ($reply); see journalctl -u $REDIS_SERVICE"
  say "PING: PONG"
  actual=$(REDISCLI_AUTH=$password redis-cli --no-auth-warning -h 127.0.0.1 -p "$port" CONFIG GET maxmemory | sed -n 2p)
  [[ $actual == "$maxmemory" ]] || die "maxmemory is $actual, expected $maxmemory"
  actual=$(REDISCLI_AUTH=$password redis-cli --no-auth-warning -h 127.0.0.1 -p "$port" CONFIG GET maxmemory-policy | sed -n 2p)
  [[ $actual == "$policy" ]] || die "maxmemory-policy is $actual, expected $policy"
  say "maxmemory: $maxmemory bytes, policy $policy"
  listeners=$(ss -Hltn "sport = :$port" | awk '{print $4}')
  [[ -n $listeners ]] || die "nothing listens on port $port"
  while IFS= read -r address; do
    [[ $address == "127.0.0.1:$port" || $address == "[::1]:$port" ]] ||
      die "Redis listens on $address, expected loopback only"
  done <<<"$listeners"
  say "listening on loopback only: ${listeners//$'\n'/ }"
}
