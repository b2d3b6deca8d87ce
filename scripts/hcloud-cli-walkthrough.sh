#!/usr/bin/env bash
# hcloud-cli-walkthrough.sh — walks the tutorial's steps (and the other
# commands a fleet operator uses) with the official hcloud CLI against
# hcloudsim, and checks that every command behaves and prints as against the
# real Hetzner Cloud API.
#
# Usage: scripts/hcloud-cli-walkthrough.sh HCLOUD_BINARY [SIMULATOR_URL]
#
# HCLOUD_BINARY is an hcloud CLI you already have; nothing is downloaded.
# Without SIMULATOR_URL, hcloudsim is built from this checkout and started on
# 127.0.0.1 for the run. The CLI is pointed at the simulator only (a fresh
# HCLOUD_CONFIG, HCLOUD_ENDPOINT and HETZNER_ENDPOINT), so no real account or
# API is ever used. It ends with "N passed, M failed" and exits 1 on a failure.
# Not part of CI: it needs the CLI binary.
set -uo pipefail

if [ $# -lt 1 ] || [ $# -gt 2 ]; then
	echo "usage: $0 HCLOUD_BINARY [SIMULATOR_URL]" >&2
	exit 2
fi
HCLOUD=$1
if [ ! -x "$HCLOUD" ]; then
	echo "$0: $HCLOUD is not an executable hcloud CLI" >&2
	exit 2
fi
cd "$(dirname "$0")/.." || exit 2

work=$(mktemp -d)
sim_pid=
cleanup() {
	if [ -n "$sim_pid" ]; then kill "$sim_pid" 2>/dev/null; wait "$sim_pid" 2>/dev/null; fi
	rm -rf "$work"
}
trap cleanup EXIT

url=${2:-}
if [ -z "$url" ]; then
	go build -o "$work/hcloudsim" ./cmd/hcloudsim || exit 2
	"$work/hcloudsim" --listen 127.0.0.1:0 --quiet >"$work/sim.url" 2>"$work/sim.log" &
	sim_pid=$!
	for _ in $(seq 50); do
		[ -s "$work/sim.url" ] && break
		sleep 0.1
	done
	url=$(head -1 "$work/sim.url")
fi
case $url in
http://127.*/v1 | http://localhost:*/v1 | "http://[::1]:"*/v1) ;;
*)
	echo "$0: simulator URL $url is not on loopback" >&2
	exit 2
	;;
esac

unset HCLOUD_CONTEXT
export HCLOUD_ENDPOINT=$url HETZNER_ENDPOINT=$url HCLOUD_TOKEN=walkthrough-token HCLOUD_CONFIG=$work/cli.toml
echo "hcloud: $("$HCLOUD" version)"
echo "simulator: $url"

passed=0
failed=0
OUT=
RC=0

# run ARGS... runs the CLI, keeping its combined output in OUT and its exit
# status in RC.
run() {
	last="hcloud $*"
	OUT=$("$HCLOUD" "$@" 2>&1)
	RC=$?
}

report() { # report OK|FAIL reason
	if [ "$1" = OK ]; then
		passed=$((passed + 1))
		echo "ok   $last"
	else
		failed=$((failed + 1))
		echo "FAIL $last: $2"
		printf '%s\n' "$OUT" | head -40 | sed 's/^/     | /'
	fi
}

# ok PATTERN...: the last command succeeded and printed each pattern (ERE).
ok() {
	if [ "$RC" -ne 0 ]; then report FAIL "exit status $RC, want 0"; return; fi
	for p in "$@"; do
		if ! grep -Eq -- "$p" <<<"$OUT"; then report FAIL "output lacks /$p/"; return; fi
	done
	report OK
}

# fails CODE: the last command failed with Hetzner's error code CODE.
fails() {
	if [ "$RC" -eq 0 ]; then report FAIL "succeeded, want error $1"; return; fi
	if ! grep -q -- "($1)" <<<"$OUT"; then report FAIL "error is not ($1)"; return; fi
	report OK
}

# lacks PATTERN: the last command succeeded and did not print PATTERN.
lacks() {
	if [ "$RC" -ne 0 ]; then report FAIL "exit status $RC, want 0"; return; fi
	if grep -Eq -- "$1" <<<"$OUT"; then report FAIL "output has /$1/"; return; fi
	report OK
}

# names WANT: the last command (a list with -o noheader -o columns=name)
# printed exactly the names WANT, space-separated, in that order.
names() {
	local got
	got=$(tr -s ' \n' ' ' <<<"$OUT" | sed 's/^ //; s/ $//')
	if [ "$RC" -ne 0 ]; then report FAIL "exit status $RC"; return; fi
	if [ "$got" != "$1" ]; then report FAIL "names \"$got\", want \"$1\""; return; fi
	report OK
}

# fields N NAME: the row of NAME has N non-empty, blank-separated cells.
fields() {
	local n
	n=$(awk -v name="$2" '$2 == name { print NF }' <<<"$OUT")
	if [ "$RC" -ne 0 ]; then report FAIL "exit status $RC"; return; fi
	if [ "$n" != "$1" ]; then report FAIL "row $2 has ${n:-no} cells, want $1 (an empty column?)"; return; fi
	report OK
}

# A public key only (its private half is not kept anywhere).
echo "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIPvMlahqiyXZYIOLf9ZH/4dX3iO1gvBIamt+utDdtfnI dev@walkthrough" >"$work/id_ed25519.pub"

echo "== tutorial, step 1"
# Step 1.1 keeps the token in a context; non-interactively the CLI takes it
# from HCLOUD_TOKEN with --token-from-env (a 64-character API token).
HCLOUD_TOKEN=$(printf 'w%.0s' $(seq 64)) run context create gitlab-ci --token-from-env
ok 'Context gitlab-ci created and activated'
run ssh-key create --name dev --public-key-from-file "$work/id_ed25519.pub"
ok '^SSH [Kk]ey [0-9]+ created'
run server create --name runner-manager --image debian-12 --type cpx11 --location hel1 --ssh-key dev --label runner=
ok 'create_server' 'start_server' '^Server [0-9]+ created' '^IPv4: [0-9.]+$' '^IPv6: [0-9a-f:]+::1$' '^IPv6 Network: [0-9a-f:]+::/64$'
# As the tutorial writes it: the rules from a process substitution.
run firewall create --name runner --rules-file <(echo '[{
  "description": "allow icmp from everywhere",
  "direction": "in",
  "source_ips": ["0.0.0.0/0", "::/0"],
  "protocol": "icmp"
},
{
  "description": "allow ssh from everywhere",
  "direction": "in",
  "source_ips": ["0.0.0.0/0", "::/0"],
  "protocol": "tcp",
  "port": "22"
}]')
ok 'set_firewall_rules' '^Firewall [0-9]+ created'
run firewall apply-to-resource runner --type label_selector --label-selector runner
ok 'apply_firewall' 'applied to resource'

ipv4=$("$HCLOUD" server ip runner-manager)
rdns="static.$(awk -F. '{ print $4 "." $3 "." $2 "." $1 }' <<<"$ipv4").clients.your-server.de"
rdns_re=${rdns//./\\.}

run all list
ok '^SERVERS' "runner-manager +running +${ipv4//./\\.} +[0-9a-f:]+::/64 +- +hel1 " \
	'^PRIMARY IPS' "ipv4 +primary_ip-[0-9]+ +${ipv4//./\\.} +Server runner-manager +$rdns_re +yes " \
	'ipv6 +primary_ip-[0-9]+ +[0-9a-f:]+::/64 +Server runner-manager +- +yes ' \
	'^FIREWALLS' 'runner +2 Rules +0 Servers \| 1 Label Selector' \
	'^SSH KEYS' 'dev +([0-9a-f]{2}:){15}[0-9a-f]{2} '

echo "== lists, selectors, output formats"
run server list -l runner
ok 'runner-manager +running'
run server list -l '!runner'
lacks runner-manager
run server list -o json
ok '"name": "runner-manager"' '"status": "applied"' "\"dns_ptr\": \"$rdns_re\"" '"ip": "[0-9a-f:]+::/64"'
run server list -o noheader -o columns=id,name,status,ipv4,ipv6,location,type,labels
fields 8 runner-manager
run server list -o noheader
fields 8 runner-manager
run server describe runner-manager
ok '^Name: +runner-manager' '^Status: +running' "DNS: +$rdns_re" '^Location:' 'Name: +hel1' '^  runner:'
run firewall describe runner
ok 'Type: +label_selector' 'Label Selector: +runner' 'Server Name: +runner-manager'
run firewall delete runner
fails resource_in_use
run firewall remove-from-resource runner --type server --server runner-manager
fails firewall_managed_by_label_selector

echo "== catalogue"
run location list
ok 'hel1 +Helsinki DC Park 1 +eu-central +FI +Helsinki'
run server-type list
ok 'cpx11 +2 +shared +x86 +2.0 GB +40 GB +.*hel1'
run image list --type system
ok 'system +debian-12 +Debian 12 +x86' 'system +debian-12 +Debian 12 +arm'
run datacenter list
ok 'hel1-dc2 +Helsinki 1 virtual DC 2 +hel1'
run primary-ip list
ok "${ipv4//./\\.} +Server runner-manager +$rdns_re +yes"

echo "== power, type, protection"
run server change-type runner-manager cpx21
fails server_not_stopped
run server poweroff runner-manager
ok 'stop_server' 'stopped'
run server change-type runner-manager cpx21
ok 'change_server_type' 'changed to type cpx21'
run server poweron runner-manager
ok 'start_server' 'started'
run server list -o noheader -o columns=name,type,status
ok '^runner-manager +cpx21 +running$'
run server enable-protection runner-manager delete rebuild
ok 'change_protection' 'protection enabled'
run server delete runner-manager
fails protected
run server rebuild runner-manager --image debian-12
fails protected
run server disable-protection runner-manager delete rebuild
ok 'protection disabled'
run server set-rdns runner-manager --hostname runner.example.com
ok 'change_dns_ptr'
run server describe runner-manager
ok 'DNS: +runner\.example\.com'

echo "== volumes"
run volume create --name vol --size 10 --location hel1
ok 'create_volume' '^Volume [0-9]+ created'
run volume attach vol --server runner-manager
ok 'attach_volume' 'attached to Server runner-manager'
run volume list
ok 'vol +10 GB +runner-manager +hel1'
run volume detach vol
ok 'detach_volume' 'detached'
run volume list
ok 'vol +10 GB +- +hel1'
run volume delete vol
ok 'Volume vol deleted'

echo "== networks"
run network create --name net --ip-range 10.0.0.0/16
ok '^Network [0-9]+ created'
run network add-subnet net --type cloud --network-zone eu-central --ip-range 10.0.1.0/24
ok 'add_subnet' 'Subnet added'
run server attach-to-network runner-manager --network net
ok 'attach_to_network' 'attached to Network'
run network list
ok 'net +10.0.0.0/16 +1 server'
run server list -o noheader -o columns=name,private_net
ok '^runner-manager +10\.0\.1\.[0-9]+ \(net\)$'
run network delete net
ok 'Network net deleted'
run server list -o noheader -o columns=name,private_net
ok '^runner-manager +-$'

echo "== placement groups"
run placement-group create --name pg --type spread
ok '^Placement Group [0-9]+ created'
run server create --name pg-member --image debian-12 --type cpx11 --location hel1 --ssh-key dev --placement-group pg
ok '^Server [0-9]+ created'
run placement-group list
ok 'pg +1 server +spread'
run server list -o noheader -o columns=name,placement_group
ok '^pg-member +pg$' '^runner-manager +-$'
run server delete pg-member
ok 'Server pg-member deleted'
run placement-group delete pg
ok 'Placement Group pg deleted'

echo "== label selectors and sorting"
run server create --name web-a --image debian-12 --type cpx11 --location hel1 --ssh-key dev --label env=a --label tier=web
ok '^Server [0-9]+ created'
run server create --name web-b --image debian-12 --type cpx11 --location hel1 --ssh-key dev --label env=b --label tier=web
ok '^Server [0-9]+ created'
for case in 'env=a|web-a' 'env==a|web-a' 'env!=a|runner-manager web-b' 'tier|web-a web-b' '!tier|runner-manager' \
	'env in (a,b)|web-a web-b' 'env notin (a)|runner-manager web-b' 'tier=web,env!=b|web-a' 'runner,!tier|runner-manager'; do
	run server list --sort name -o noheader -o columns=name -l "${case%%|*}"
	names "${case#*|}"
done
run server list -l 'env in (a'
fails invalid_input
run server list --sort name -o noheader -o columns=name
names "runner-manager web-a web-b"
run server list --sort name:desc -o noheader -o columns=name
names "web-b web-a runner-manager"
run server list --status off
lacks 'runner-manager|web-'

echo "== clean up"
run server delete runner-manager web-a web-b
ok 'runner-manager.* deleted'
run firewall remove-from-resource runner --type label_selector --label-selector runner
ok 'remove_firewall|removed from resource'
run firewall delete runner
ok 'Firewall runner deleted'
run ssh-key delete dev
ok 'SSH [Kk]ey dev deleted'
run all list
lacks 'runner|dev'
run primary-ip list -o noheader
lacks 'Server'

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
