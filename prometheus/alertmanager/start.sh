#!/bin/sh
# Starts Alertmanager with the Telegram bot token read from a secret file.
# Alertmanager 0.25 has no bot_token_file (0.26 added it), so this renders a copy of the
# configuration with the token in place of __TELEGRAM_BOT_TOKEN__ and runs Alertmanager on the copy.
# The token goes through awk's getline, never through a command line. Arguments pass through.
set -eu

config_dir=${ALERTMANAGER_CONFIG_DIR:-/etc/alertmanager}
render_dir=${ALERTMANAGER_RENDER_DIR:-/tmp/alertmanager}
token_file=${TELEGRAM_BOT_TOKEN_FILE:-$config_dir/secrets/telegram_bot_token}

umask 077
mkdir -p "$render_dir"
awk -v file="$token_file" '
  BEGIN { if ((getline token < file) <= 0 || token == "") token = "unset"; sub(/\r$/, "", token) }
  { gsub(/__TELEGRAM_BOT_TOKEN__/, token); print }
' "$config_dir/alertmanager.yml" > "$render_dir/alertmanager.yml"
# Template globs in the configuration resolve relative to the rendered file.
ln -sfn "$config_dir/templates" "$render_dir/templates"

exec "${ALERTMANAGER_BIN:-/bin/alertmanager}" --config.file="$render_dir/alertmanager.yml" "$@"
