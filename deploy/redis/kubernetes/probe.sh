#!/bin/sh
# Probe of the Redis and Sentinel containers: `probe.sh <port> live|ready`.
# PING on loopback with the password from the mounted Secret in REDISCLI_AUTH: never `-a`, which
# would put the password in the argument list every process in the pod can read.
# Alive: any answer, including LOADING (a large AOF being read) and MASTERDOWN; ready: PONG only.
# shellcheck shell=sh
set -eu

port=${1:?usage: probe.sh <port> live|ready}
mode=${2:-live}
REDISCLI_AUTH=$(cat "${PASSWORD_FILE:-/etc/redis-auth/redis-password}")
export REDISCLI_AUTH
reply=$(timeout 3 redis-cli --no-auth-warning -h 127.0.0.1 -p "$port" PING 2>&1) || reply="no answer: $reply"
case $mode:$reply in
*:PONG) exit 0 ;;
live:LOADING* | live:MASTERDOWN*) exit 0 ;;
esac
echo "$reply" >&2
exit 1
