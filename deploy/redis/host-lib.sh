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
