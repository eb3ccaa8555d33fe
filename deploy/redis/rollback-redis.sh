#!/usr/bin/env bash
# Undoes the latest setup-redis.sh run from its backup: every file it replaced comes back byte for
# byte (mode, owner and times too), every file and directory it created goes, and the service
# returns to the state it had (running or stopped, enabled or not). The backup is then renamed
# <stamp>.rolled-back, so running rollback again undoes the run before that, or says there is none.
# Packages setup installed stay installed (apt-get purge redis-server redis-tools removes them).
set -euo pipefail

readonly PROG=rollback-redis
SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
readonly SCRIPT_DIR
# shellcheck source=deploy/redis/host-lib.sh
. "$SCRIPT_DIR/host-lib.sh"

usage() {
  cat <<EOF
Usage: sudo $0 [options]

Restores what the latest setup-redis.sh run changed, from its timestamped backup.

  --backup DIR       a specific backup directory (default: the newest one not rolled back yet)
  --backup-dir DIR   where setup-redis.sh put its backups (default: $DEFAULT_BACKUP_BASE)
  --root DIR         work on DIR as if it were /: no systemctl
  --dry-run          say what would be restored, change nothing
  -h, --help         this text
EOF
}

BACKUP=""
BACKUP_BASE=$DEFAULT_BACKUP_BASE
while (($# > 0)); do
  case $1 in
  --backup) BACKUP=${2:-} && shift ;;
  --backup-dir) BACKUP_BASE=${2:-} && shift ;;
  --root) set_root "${2:-}" && shift ;;
  --dry-run) DRY_RUN=1 ;;
  -h | --help) usage && exit 0 ;;
  *) die "unknown option: $1 (see --help)" ;;
  esac
  shift
done
check_path --backup-dir "$BACKUP_BASE"
require_live_root

if [[ -z $BACKUP ]]; then
  # Stamps sort as text in time order; rolled-back ones and anything else are skipped.
  for candidate in "$ROOT$BACKUP_BASE"/*; do
    [[ -f $candidate/$MANIFEST && $candidate != *"$ROLLED_BACK_SUFFIX" ]] && BACKUP=$candidate
  done
  if [[ -z $BACKUP ]]; then
    say "nothing to roll back: no backup in $ROOT$BACKUP_BASE"
    exit 0
  fi
fi
[[ -f $BACKUP/$MANIFEST ]] || die "--backup expects a directory made by setup-redis.sh (with a $MANIFEST), got: $BACKUP"
say "rolling back from $BACKUP"

# Read and check the whole manifest before touching anything.
saved=() absent=() dirs=() was_active="" was_enabled=""
while IFS=$'\t' read -r kind value || [[ -n $kind ]]; do
  case $kind in
  saved | absent | mkdir)
    check_path "manifest entry" "$value"
    [[ $kind != saved || -f $BACKUP/files$value ]] || die "the backup lacks its copy of $value"
    ;;
  active | enabled) [[ $value == yes || $value == no ]] || die "manifest: $kind must be yes or no" ;;
  *) die "manifest: unknown entry '$kind'" ;;
  esac
  case $kind in
  saved) saved+=("$value") ;;
  absent) absent+=("$value") ;;
  mkdir) dirs+=("$value") ;;
  active) was_active=$value ;;
  enabled) was_enabled=$value ;;
  esac
done <"$BACKUP/$MANIFEST"

if ((DRY_RUN == 1)); then
  for path in "${saved[@]}"; do say "would restore $ROOT$path"; done
  for path in "${absent[@]}"; do say "would remove $ROOT$path"; done
  for dir in "${dirs[@]}"; do say "would remove the directory $ROOT$dir if empty"; done
  say "dry run: nothing changed"
  exit 0
fi

# Stop first when the service did not run before: it must not keep serving a config being removed.
if ((ROOT_MODE == 0)) && [[ $was_active == no ]]; then
  systemctl stop "$REDIS_SERVICE" || true
fi

for path in "${saved[@]}"; do
  # cp -p keeps mode, owner and times; renamed over the target so no reader sees half a file.
  tmp=$(mktemp "$ROOT$path.XXXXXX")
  cp -p "$BACKUP/files$path" "$tmp"
  mv -f "$tmp" "$ROOT$path"
  say "restored $ROOT$path"
done
for path in "${absent[@]}"; do
  rm -f "$ROOT$path"
  say "removed $ROOT$path"
done
# Deepest first, each once; a directory someone has since put files in stays.
while IFS= read -r dir; do
  [[ -n $dir && -d $ROOT$dir ]] || continue
  if rmdir "$ROOT$dir" 2>/dev/null; then say "removed the directory $ROOT$dir"; fi
done < <(printf '%s\n' "${dirs[@]}" | sort -u | awk '{ print length($0) "\t" $0 }' | sort -rn | cut -f2-)

if ((ROOT_MODE == 0)); then
  systemctl daemon-reload
  if [[ $was_enabled == yes ]]; then
    systemctl enable --quiet "$REDIS_SERVICE" || true
  else
    systemctl disable --quiet "$REDIS_SERVICE" 2>/dev/null || true
  fi
  if [[ $was_active == yes ]]; then
    systemctl restart "$REDIS_SERVICE"
    say "restarted $REDIS_SERVICE with the restored configuration"
  else
    say "stopped $REDIS_SERVICE (it was not running before setup)"
  fi
fi

mv "$BACKUP" "$BACKUP$ROLLED_BACK_SUFFIX"
say "done; the backup is kept as $BACKUP$ROLLED_BACK_SUFFIX"
