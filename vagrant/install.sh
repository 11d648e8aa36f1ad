#!/usr/bin/env bash
# Install the Shoal agent on this machine as a systemd service, or remove it.
#
#   install.sh [--join HOST --token TOKEN | --token-file FILE] [--bind ADDR] [--name NAME]
#              [--source DIR] [--install-deps] [--copy-node-modules] [--env SHOAL_X=VALUE ...]
#   install.sh --uninstall [--keep-data]
#
# Installs the project from --source (default: the checkout this script is
# in) to /opt/shoal, runs `npm ci` there (which brings Node.js 22), writes
# /etc/default/shoal (the agent's settings, mode 600: it holds the join
# token) and /etc/systemd/system/shoal.service, links /usr/local/bin/shoal,
# then enables and starts the service. Without --join the agent starts a new
# cluster; with it, it joins that member's, trying again for up to 10
# minutes while the member does not answer. Run twice with the same
# arguments, it changes nothing and says so. --install-deps first installs
# Docker, Node.js and npm from Debian's packages. --copy-node-modules takes
# the source's node_modules instead of running npm ci (a checkout that ran
# `npm install` on a machine of the same kind; no registry needed). --env
# adds any other agent setting (`shoal agent --help` names them all).
#
# --uninstall stops and disables the service, leaves the cluster if the agent
# is up (its pods' containers go with it), and removes everything above,
# Shoal's cluster IPs on lo and, unless --keep-data, the data dir.
set -euo pipefail

PREFIX=${SHOAL_PREFIX:-/opt/shoal}
DATA_DIR=${SHOAL_INSTALL_DATA_DIR:-/var/lib/shoal}
ENV_FILE=/etc/default/shoal
UNIT=/etc/systemd/system/shoal.service
BIN=/usr/local/bin/shoal
SOURCE=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
JOIN='' TOKEN='' BIND='' NAME='' UNINSTALL=0 KEEP_DATA=0 DEPS=0 COPY_MODULES=0 EXTRA=''

say () { echo "shoal-install: $*"; }
die () { echo "shoal-install: $*" >&2; exit 1; }

while [ $# -gt 0 ]; do
  case $1 in
    --join) JOIN=${2:?--join needs HOST[:PORT]}; shift 2 ;;
    --token) TOKEN=${2:?--token needs a token}; shift 2 ;;
    --token-file) [ -r "${2:-}" ] || die "--token-file: cannot read ${2:-(missing)}"; TOKEN=$(tr -d '[:space:]' <"$2"); shift 2 ;;
    --bind) BIND=${2:?--bind needs an address}; shift 2 ;;
    --name) NAME=${2:?--name needs a node name}; shift 2 ;;
    --source) SOURCE=$(cd "${2:?--source needs a directory}" && pwd); shift 2 ;;
    --install-deps) DEPS=1; shift ;;
    --copy-node-modules) COPY_MODULES=1; shift ;;
    --env) [[ ${2:-} =~ ^SHOAL_[A-Z_]+=[^[:space:]]*$ ]] || die "--env takes SHOAL_NAME=VALUE (no spaces), got ${2:-(nothing)}"; EXTRA+=$'\n'"$2"; shift 2 ;;
    --uninstall) UNINSTALL=1; shift ;;
    --keep-data) KEEP_DATA=1; shift ;;
    -h|--help) sed -n '2,26p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown argument $1 (see --help)" ;;
  esac
done

[ "$(id -u)" = 0 ] || die "run as root (it writes /etc and /opt, and the agent drives Docker)"

if [ "$UNINSTALL" = 1 ]; then
  if [ -x "$BIN" ] && systemctl is-active --quiet shoal 2>/dev/null; then
    say "leaving the cluster"
    "$BIN" leave --data-dir "$DATA_DIR" || say "could not leave (the agent did not answer); stopping it anyway"
  fi
  systemctl disable --now shoal 2>/dev/null || true
  # Whatever the agent could not remove itself (it was down): its pods' containers, by their node label.
  node=$(sed -n 's/^SHOAL_NAME=//p' "$ENV_FILE" 2>/dev/null | tail -1 || true)
  node=${node:-$(hostname)}
  if command -v docker >/dev/null && left=$(docker ps -aq --filter "label=io.shoal.node=$node" 2>/dev/null) && [ -n "$left" ]; then
    say "removing the containers of node $node"
    docker rm -f $left >/dev/null || true
  fi
  rm -f "$UNIT" "$ENV_FILE" "$BIN"
  systemctl daemon-reload 2>/dev/null || true
  rm -rf "$PREFIX"
  ip addr flush label lo:shoal 2>/dev/null || true
  if [ "$KEEP_DATA" = 1 ]; then say "kept $DATA_DIR"; else rm -rf "$DATA_DIR"; fi
  say "uninstalled"
  exit 0
fi

[ -n "$JOIN" ] && [ -z "$TOKEN" ] && die "--join needs --token or --token-file (\`shoal token\` on a member prints it)"
[ -z "$JOIN" ] && [ -n "$TOKEN" ] && die "--token without --join: which member should it join through?"
[ -f "$SOURCE/package.json" ] && [ -f "$SOURCE/packages/cli/bin/shoal.js" ] || die "--source $SOURCE is not a Shoal checkout"

if [ "$DEPS" = 1 ]; then
  need=()
  command -v dockerd >/dev/null || need+=(docker.io)
  command -v npm >/dev/null || need+=(nodejs npm)
  if [ ${#need[@]} -gt 0 ]; then
    say "installing ${need[*]}"
    DEBIAN_FRONTEND=noninteractive apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
  fi
  systemctl enable --now docker >/dev/null 2>&1 || true
fi
[ "$COPY_MODULES" = 1 ] || command -v npm >/dev/null || die "npm is missing (--install-deps installs it)"

changed=0
# The project, without what is built or kept per machine: copied again when any file differs.
files () { (cd "$1" && find . \( -path ./node_modules -o -path ./.git -o -name '.shoal*' -o -name '.installed-*' \) -prune -o -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum | sha256sum | cut -d' ' -f1); }
want=$(files "$SOURCE")
if [ "$(cat "$PREFIX/.installed-source" 2>/dev/null)" != "$want" ]; then
  mkdir -p "$PREFIX"
  find "$PREFIX" -mindepth 1 -maxdepth 1 ! -name node_modules -exec rm -rf {} +
  (cd "$SOURCE" && tar -c --exclude=./node_modules --exclude=./.git --exclude='./.shoal*' .) | tar -x -C "$PREFIX"
  echo "$want" >"$PREFIX/.installed-source"
  changed=1
fi
lock=$(sha256sum "$PREFIX/package-lock.json" | cut -d' ' -f1)
if [ ! -x "$PREFIX/node_modules/.bin/node" ] || [ "$(cat "$PREFIX/.installed-lock" 2>/dev/null)" != "$lock" ]; then
  rm -rf "$PREFIX/node_modules"
  if [ "$COPY_MODULES" = 1 ]; then
    [ -x "$SOURCE/node_modules/.bin/node" ] || die "--copy-node-modules: $SOURCE/node_modules is not installed (run npm install there)"
    say "copying the project's packages from $SOURCE"
    cp -a "$SOURCE/node_modules" "$PREFIX/node_modules"
  else
    say "installing the project's packages (npm ci)"
    (cd "$PREFIX" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
  fi
  echo "$lock" >"$PREFIX/.installed-lock"
  changed=1
fi

# Write $2 to $1 only when it differs; note the change.
put () {
  local file=$1 content=$2 mode=$3
  if [ ! -f "$file" ] || [ "$(cat "$file")" != "$content" ]; then
    install -m "$mode" /dev/null "$file"
    printf '%s\n' "$content" >"$file"
    changed=1
  fi
}

env_lines="# Written by $PREFIX/vagrant/install.sh; one SHOAL_* variable per agent flag (see shoal agent --help).
SHOAL_DATA_DIR=$DATA_DIR
SHOAL_LOG_LEVEL=info"
[ -n "$NAME" ] && env_lines+=$'\n'"SHOAL_NAME=$NAME"
[ -n "$BIND" ] && env_lines+=$'\n'"SHOAL_BIND=$BIND"
if [ -n "$JOIN" ]; then
  env_lines+=$'\n'"SHOAL_JOIN=$JOIN"$'\n'"SHOAL_TOKEN=$TOKEN"$'\n'"SHOAL_JOIN_RETRY_MS=600000"
fi
env_lines+=$EXTRA
put "$ENV_FILE" "$env_lines" 600
put "$UNIT" "$(sed "s|@PREFIX@|$PREFIX|g" "$PREFIX/vagrant/shoal.service")" 644
put "$BIN" "#!/bin/sh
# The shoal command, run by the Node.js the project brings.
exec $PREFIX/node_modules/.bin/node $PREFIX/packages/cli/bin/shoal.js \"\$@\"" 755

systemctl daemon-reload
systemctl enable shoal >/dev/null 2>&1
if [ "$changed" = 1 ]; then
  systemctl restart shoal
  say "installed and (re)started; logs: journalctl -u shoal"
else
  systemctl start shoal
  say "unchanged"
fi
