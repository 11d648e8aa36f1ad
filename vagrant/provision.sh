#!/usr/bin/env bash
# Provision one VM of the Vagrant cluster (run by Vagrant as root):
#   provision.sh NAME ADDRESS FIRST_ADDRESS
# The VM at FIRST_ADDRESS starts the cluster and writes the join token to the
# synced folder; every other VM waits for that token and joins through it.
# Safe to run again (`vagrant provision`): install.sh changes nothing then.
set -euo pipefail
NAME=${1:?name}
ADDRESS=${2:?address}
FIRST=${3:?first node address}
SHARED=/shoal/.shoal-vagrant
TOKEN_FILE=$SHARED/token
mkdir -p "$SHARED"

if [ "$ADDRESS" = "$FIRST" ]; then
  # A token left by an earlier cluster must not be picked up while this one starts.
  systemctl is-active --quiet shoal || rm -f "$TOKEN_FILE"
  bash /shoal/vagrant/install.sh --install-deps --name "$NAME" --bind "$ADDRESS"
else
  echo "waiting for $TOKEN_FILE (written once the first VM's agent is up)"
  for _ in $(seq 1 300); do [ -s "$TOKEN_FILE" ] && break; sleep 2; done
  [ -s "$TOKEN_FILE" ] || { echo "no join token in $TOKEN_FILE after 10 minutes: is the first VM up?" >&2; exit 1; }
  bash /shoal/vagrant/install.sh --install-deps --name "$NAME" --bind "$ADDRESS" --join "$FIRST" --token-file "$TOKEN_FILE"
fi

# The agent writes its kubeconfig once it runs in a cluster; the vagrant user gets a copy.
for _ in $(seq 1 300); do [ -s /var/lib/shoal/kubeconfig ] && break; sleep 2; done
[ -s /var/lib/shoal/kubeconfig ] || { echo "the agent did not come up: journalctl -u shoal" >&2; exit 1; }
install -d -o vagrant -g vagrant /home/vagrant/.shoal
install -m 600 -o vagrant -g vagrant /var/lib/shoal/kubeconfig /home/vagrant/.shoal/kubeconfig

if [ "$ADDRESS" = "$FIRST" ]; then
  shoal token --data-dir /var/lib/shoal >"$TOKEN_FILE.tmp" && mv "$TOKEN_FILE.tmp" "$TOKEN_FILE"
fi
shoal get nodes
