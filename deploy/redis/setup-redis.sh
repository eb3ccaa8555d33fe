#!/usr/bin/env bash
# Installs Redis on one host from deploy/redis/redis.conf, in three phases:
#   1. packages, a timestamped backup of every file about to change, the password (kept when one is
#      already installed, otherwise generated with openssl);
#   2. /etc/redis/redis.conf (0600, redis) and the hardened redis-server.service, service restarted;
#   3. the application's env file (0600) gets REDIS_URL with the password;
# then verifies: PING with REDISCLI_AUTH, CONFIG GET of the memory settings, loopback-only listener.
# A second run with the same options changes nothing. rollback-redis.sh undoes the latest run.
# The password is never printed and never on a command line (only in files and REDISCLI_AUTH).
set -euo pipefail

readonly PROG=setup-redis
SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
readonly SCRIPT_DIR
# shellcheck source=deploy/redis/host-lib.sh
. "$SCRIPT_DIR/host-lib.sh"

readonly POLICIES="noeviction allkeys-lru allkeys-lfu allkeys-random volatile-lru volatile-lfu volatile-random volatile-ttl"
readonly PACKAGES="redis-server redis-tools"
# A password this script can carry into a redis:// URL and redis.conf without quoting.
readonly SAFE_PASSWORD='^[A-Za-z0-9._~-]{16,}$'

usage() {
  cat <<EOF
Usage: sudo $0 [options]

Installs Redis with the settings of deploy/redis/redis.conf, a generated password, the hardened
systemd unit, and REDIS_URL in the application's env file. Undo with rollback-redis.sh.

  --maxmemory SIZE          Redis memory limit, e.g. 256mb, 1gb (default: redis.conf's)
  --maxmemory-policy NAME   eviction policy (default: redis.conf's); one of:
                            $POLICIES
  --app-env FILE            the application's env file that gets REDIS_URL (default: $DEFAULT_APP_ENV)
  --backup-dir DIR          where timestamped backups go (default: $DEFAULT_BACKUP_BASE)
  --root DIR                work on DIR as if it were /: no packages, no systemctl, no verification
  --dry-run                 say what would change, change nothing
  -h, --help                this text
EOF
}

MAXMEMORY=""
POLICY=""
APP_ENV=$DEFAULT_APP_ENV
BACKUP_BASE=$DEFAULT_BACKUP_BASE
while (($# > 0)); do
  case $1 in
  --maxmemory) MAXMEMORY=${2:-} && shift ;;
  --maxmemory-policy) POLICY=${2:-} && shift ;;
  --app-env) APP_ENV=${2:-} && shift ;;
  --backup-dir) BACKUP_BASE=${2:-} && shift ;;
  --root) set_root "${2:-}" && shift ;;
  --dry-run) DRY_RUN=1 ;;
  -h | --help) usage && exit 0 ;;
  *) die "unknown option: $1 (see --help)" ;;
  esac
  shift
done

readonly SOURCE_CONF=$SCRIPT_DIR/redis.conf
readonly SOURCE_UNIT=$SCRIPT_DIR/redis-server.service
[[ -r $SOURCE_CONF && -r $SOURCE_UNIT ]] || die "redis.conf and redis-server.service must sit next to this script"

# The value of a single-valued directive in a redis.conf (last one wins, as in Redis).
conf_value() {
  local key=$1 file=$2 line value=""
  while IFS= read -r line || [[ -n $line ]]; do
    if [[ $line =~ ^[[:space:]]*${key}[[:space:]]+(.*[^[:space:]])[[:space:]]*$ ]]; then
      value=${BASH_REMATCH[1]}
    fi
  done <"$file"
  printf '%s' "$value"
}

# Redis memory units: k/m/g are powers of 1000, kb/mb/gb of 1024, no unit is bytes.
to_bytes() {
  local size=${1,,}
  [[ $size =~ ^([0-9]+)(b|k|kb|m|mb|g|gb)?$ ]] || return 1
  local n=${BASH_REMATCH[1]} unit=${BASH_REMATCH[2]:-b}
  case $unit in
  b) printf '%d' "$n" ;;
  k) printf '%d' $((n * 1000)) ;;
  kb) printf '%d' $((n * 1024)) ;;
  m) printf '%d' $((n * 1000 * 1000)) ;;
  mb) printf '%d' $((n * 1024 * 1024)) ;;
  g) printf '%d' $((n * 1000 * 1000 * 1000)) ;;
  gb) printf '%d' $((n * 1024 * 1024 * 1024)) ;;
  esac
}

MAXMEMORY=${MAXMEMORY:-$(conf_value maxmemory "$SOURCE_CONF")}
POLICY=${POLICY:-$(conf_value maxmemory-policy "$SOURCE_CONF")}
MAXMEMORY_BYTES=$(to_bytes "$MAXMEMORY") || die "--maxmemory expects a size such as 256mb or 1gb, got: $MAXMEMORY"
((MAXMEMORY_BYTES > 0)) || die "--maxmemory expects a size above 0 (an evicting cache needs a limit)"
[[ " $POLICIES " == *" $POLICY "* ]] || die "--maxmemory-policy expects one of: $POLICIES; got: $POLICY"
check_path --app-env "$APP_ENV"
check_path --backup-dir "$BACKUP_BASE"
PORT=$(conf_value port "$SOURCE_CONF")
readonly MAXMEMORY POLICY MAXMEMORY_BYTES PORT APP_ENV BACKUP_BASE
require_live_root

# Staged files are private from the first byte.
umask 077
STAGE=$(mktemp -d)
readonly STAGE
trap 'rm -rf "$STAGE"' EXIT

# ---- Phase 1: packages, password, what would change, backup ---------------------------------------
say "phase 1: packages, password, backup"
if ((ROOT_MODE == 1)); then
  say "--root $ROOT/: no packages, no systemctl"
else
  # The service's state before anything here touches it (installing the package starts Redis):
  # what rollback returns to.
  was_active=no was_enabled=no
  if systemctl is-active --quiet "$REDIS_SERVICE"; then was_active=yes; fi
  if systemctl is-enabled --quiet "$REDIS_SERVICE" 2>/dev/null; then was_enabled=yes; fi
  missing=()
  for package in $PACKAGES; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'install ok installed' || missing+=("$package")
  done
  if ((${#missing[@]} > 0)); then
    if ((DRY_RUN == 1)); then
      say "would install: ${missing[*]}"
    else
      say "installing: ${missing[*]}"
      DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
    fi
  fi
fi

# Keep the installed password: a second run must not break every client configured with it.
PASSWORD=""
if [[ -f $ROOT$REDIS_CONF ]]; then
  existing=$(conf_value requirepass "$ROOT$REDIS_CONF")
  existing=${existing#\"} && existing=${existing%\"}
  if [[ $existing =~ $SAFE_PASSWORD ]]; then
    PASSWORD=$existing
    say "keeping the password already in $REDIS_CONF"
  elif [[ -n $existing ]]; then
    say "the password in $REDIS_CONF has characters a redis:// URL would need escaped: generating a new one"
  fi
fi
if [[ -z $PASSWORD ]]; then
  PASSWORD=$(openssl rand -hex 32)
  say "generated a new password (64 hex characters; it is written only to 0600 files)"
fi

# redis.conf: the source with the memory settings of this run, then the password.
{
  while IFS= read -r line || [[ -n $line ]]; do
    if [[ $line =~ ^maxmemory[[:space:]] ]]; then
      printf 'maxmemory %s\n' "$MAXMEMORY"
    elif [[ $line =~ ^maxmemory-policy[[:space:]] ]]; then
      printf 'maxmemory-policy %s\n' "$POLICY"
    else
      printf '%s\n' "$line"
    fi
  done <"$SOURCE_CONF"
  printf '\n# Added by setup-redis.sh. This file is 0600: it holds the password.\n'
  printf 'requirepass %s\n' "$PASSWORD"
} >"$STAGE/redis.conf"

# The unit, with MemoryMax kept at twice maxmemory plus 256M (see the comment in the unit).
readonly MEMORY_MAX_MIB=$(((2 * MAXMEMORY_BYTES + 268435456 + 1048575) / 1048576))
while IFS= read -r line || [[ -n $line ]]; do
  if [[ $line =~ ^MemoryMax= ]]; then printf 'MemoryMax=%dM\n' "$MEMORY_MAX_MIB"; else printf '%s\n' "$line"; fi
done <"$SOURCE_UNIT" >"$STAGE/redis-server.service"

# The application's env file: REDIS_URL replaced in place (or appended), every other line kept.
readonly REDIS_URL_LINE="REDIS_URL=redis://:$PASSWORD@127.0.0.1:$PORT/0"
{
  written=0
  if [[ -f $ROOT$APP_ENV ]]; then
    while IFS= read -r line || [[ -n $line ]]; do
      if [[ $line =~ ^REDIS_URL= ]]; then
        ((written == 1)) || printf '%s\n' "$REDIS_URL_LINE"
        written=1
      else
        printf '%s\n' "$line"
      fi
    done <"$ROOT$APP_ENV"
  fi
  ((written == 1)) || printf '%s\n' "$REDIS_URL_LINE"
} >"$STAGE/app.env"

# target path, staged file, mode, owner ("" keeps the existing owner, root for a new file)
TARGETS=(
  "$REDIS_CONF" "$STAGE/redis.conf" 600 redis:redis
  "$REDIS_UNIT" "$STAGE/redis-server.service" 644 root:root
  "$APP_ENV" "$STAGE/app.env" 600 ""
)

file_mode() { stat -c '%a' "$1"; }
changes=()
for ((i = 0; i < ${#TARGETS[@]}; i += 4)); do
  path=${TARGETS[i]} staged=${TARGETS[i + 1]} mode=${TARGETS[i + 2]}
  if [[ -f $ROOT$path ]] && cmp -s "$staged" "$ROOT$path" && [[ $(file_mode "$ROOT$path") == "$mode" ]]; then
    continue
  fi
  changes+=("$i")
done

if ((${#changes[@]} == 0)); then
  say "nothing to change: every file is already as this run would write it"
fi

# Directories missing on the way to a file: created by setup, removed again by rollback.
missing_dirs() {
  local dir
  dir=$(dirname "$1")
  while [[ -n $dir && $dir != / && ! -d $ROOT$dir ]]; do
    printf '%s\n' "$dir"
    dir=$(dirname "$dir")
  done
}

if ((DRY_RUN == 1)); then
  for i in "${changes[@]}"; do
    path=${TARGETS[i]}
    if [[ -f $ROOT$path ]]; then say "would back up and replace $ROOT$path"; else say "would create $ROOT$path"; fi
  done
  ((ROOT_MODE == 1)) || say "would restart $REDIS_SERVICE and verify it"
  say "dry run: nothing written"
  exit 0
fi

BACKUP=""
if ((${#changes[@]} > 0)); then
  stamp=$(date -u +%Y%m%dT%H%M%SZ)
  BACKUP=$ROOT$BACKUP_BASE/$stamp
  n=1
  while [[ -e $BACKUP || -e $BACKUP$ROLLED_BACK_SUFFIX ]]; do
    BACKUP=$ROOT$BACKUP_BASE/$stamp-$n
    n=$((n + 1))
  done
  mkdir -p "$BACKUP/files"
  {
    if ((ROOT_MODE == 0)); then
      printf 'active\t%s\nenabled\t%s\n' "$was_active" "$was_enabled"
    fi
    for i in "${changes[@]}"; do
      path=${TARGETS[i]}
      while IFS= read -r dir; do [[ -z $dir ]] || printf 'mkdir\t%s\n' "$dir"; done < <(missing_dirs "$path")
      if [[ -f $ROOT$path ]]; then
        mkdir -p "$BACKUP/files$(dirname "$path")"
        cp -p "$ROOT$path" "$BACKUP/files$path"
        printf 'saved\t%s\n' "$path"
      else
        printf 'absent\t%s\n' "$path"
      fi
    done
  } >"$BACKUP/$MANIFEST"
  say "backup of every file about to change: $BACKUP"
fi

# ---- Phase 2 and 3: redis.conf, the unit, the application's env file ------------------------------
((${#changes[@]} == 0)) || say "phase 2: redis.conf and $REDIS_SERVICE; phase 3: REDIS_URL in $APP_ENV"
for i in "${changes[@]}"; do
  path=${TARGETS[i]} staged=${TARGETS[i + 1]} mode=${TARGETS[i + 2]} owner=${TARGETS[i + 3]}
  target=$ROOT$path
  if [[ -z $owner && -f $target ]]; then owner=$(stat -c '%u:%g' "$target"); fi
  # New directories are world-traversable like /etc's own: the redis user must reach redis.conf.
  (umask 022 && mkdir -p "$(dirname "$target")")
  # Written beside the target and renamed over it: a reader sees the old file or the new one.
  tmp=$(mktemp "$target.XXXXXX")
  cat "$staged" >"$tmp"
  chmod "$mode" "$tmp"
  if ((ROOT_MODE == 0)) && [[ -n $owner ]]; then chown "$owner" "$tmp"; fi
  mv -f "$tmp" "$target"
  say "wrote $target (mode $mode)"
done

if ((ROOT_MODE == 1)); then
  say "--root: not restarting anything, not verifying (nothing runs under $ROOT/)"
  exit 0
fi

if ((${#changes[@]} > 0)); then
  systemctl daemon-reload
  systemctl enable --quiet "$REDIS_SERVICE"
  systemctl restart "$REDIS_SERVICE"
  say "restarted $REDIS_SERVICE"
else
  systemctl enable --quiet "$REDIS_SERVICE"
  systemctl is-active --quiet "$REDIS_SERVICE" || systemctl start "$REDIS_SERVICE"
fi

# ---- Verification ---------------------------------------------------------------------------------
say "verifying"
verify_redis "$PORT" "$PASSWORD" "$MAXMEMORY_BYTES" "$POLICY"
say "done; undo with: sudo $SCRIPT_DIR/rollback-redis.sh"
