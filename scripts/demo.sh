#!/usr/bin/env bash
# make demo: the whole fleetctl flow of the Hetzner tutorial against hcloudsim,
# a local Hetzner Cloud simulator whose servers are SSH hosts on loopback
# addresses. Needs Go and bash; nothing leaves this machine.
#
#   validate -> plan (creates) -> apply -> plan (no changes) -> config.toml on
#   the manager (masked) -> idle_count 8 -> 2: plan, apply -> the plugin scaling
#   0 -> 3 (status) -> 0 -> destroy
#
# Exits non-zero as soon as a step does not do what it should.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
GO=${GO:-go}
BIN=${BIN:-bin}
case $BIN in /*) ;; *) BIN=$root/$BIN ;; esac

if [ -t 1 ] && [ -z "${NO_COLOR:-}" ]; then
	bold=$'\e[1m' dim=$'\e[2m' reset=$'\e[0m'
else
	bold='' dim='' reset=''
fi
heading() { printf '\n%s==> %s%s\n' "$bold" "$*" "$reset"; }
note() { printf '%s%s%s\n' "$dim" "$*" "$reset"; }
die() {
	printf 'demo: %s\n' "$*" >&2
	exit 1
}

work=$(mktemp -d "${TMPDIR:-/tmp}/fleetctl-demo.XXXXXX")
sim_pid=
cleanup() {
	local status=$?
	if [ -n "$sim_pid" ] && kill -0 "$sim_pid" 2>/dev/null; then
		kill "$sim_pid" 2>/dev/null || true
		wait "$sim_pid" 2>/dev/null || true
	fi
	rm -rf "$work"
	exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Demo secrets: known values, so the demo can check that none is printed.
export HCLOUD_TOKEN=demo-hcloud-token-0d9c7e
export RUNNER_TOKEN=glrt-demo-runner-token-4b1f
export NO_COLOR=${NO_COLOR:-}

# fleetctl ARGS... runs fleetctl in the demo directory, shows the command
# and its output (stderr merged), and fails the demo unless it exits with
# $want (default 0) or prints a secret.
want=0
fleetctl() {
	printf '%s$ fleetctl %s%s\n' "$bold" "$*" "$reset"
	local rc
	set +e
	(cd "$work" && "$BIN/fleetctl" "$@") 2>&1 | tee "$work/out"
	rc=${PIPESTATUS[0]}
	set -e
	if grep -qF -e "$HCLOUD_TOKEN" -e "$RUNNER_TOKEN" "$work/out"; then
		die "fleetctl $* printed a secret"
	fi
	[ "$rc" -eq "$want" ] || die "fleetctl $* exited $rc, want $want"
	note "(exit $rc)"
	want=0
}

heading "Build fleetctl, hcloudsim and the demo's helper"
# make demo has just built bin/ (SKIP_BUILD=1); run by hand, build it here.
if [ "${SKIP_BUILD:-}" != 1 ]; then
	"$GO" build -o "$BIN/" ./cmd/fleetctl ./cmd/hcloudsim
fi
"$GO" build -o "$work/fleetdemo" ./test/e2e/cmd/fleetdemo
ls -l "$BIN/fleetctl" "$BIN/hcloudsim"

heading "Start the Hetzner Cloud simulator (actions take 1 s, 20 ms latency per request)"
# The servers' SSH hosts listen on 127.0.0.N:22, as on Hetzner, when this runs
# as root and no sshd holds port 22 on every address (the simulator skips an
# address whose port is taken); otherwise on a high port.
ssh_port=22
if [ "$(id -u)" -ne 0 ] || (exec 3<>/dev/tcp/127.0.0.1/22) 2>/dev/null; then
	ssh_port=$((20000 + RANDOM % 20000))
fi
"$BIN/hcloudsim" --listen 127.0.0.1:0 --ssh --ssh-port "$ssh_port" --action-duration 1s --latency 20ms \
	--state-dir "$work/sim" --quiet >"$work/sim.url" 2>"$work/sim.log" &
sim_pid=$!
for _ in $(seq 100); do
	[ -s "$work/sim.url" ] && break
	kill -0 "$sim_pid" 2>/dev/null || die "hcloudsim exited: $(cat "$work/sim.log")"
	sleep 0.1
done
HCLOUD_ENDPOINT=$(head -n 1 "$work/sim.url")
export HCLOUD_ENDPOINT
case $HCLOUD_ENDPOINT in http://127.0.0.1:*/v1) ;; *) die "hcloudsim printed no API URL" ;; esac
echo "HCLOUD_ENDPOINT=$HCLOUD_ENDPOINT  (servers' SSH on port $ssh_port, their files under the state directory)"

heading "A throwaway SSH key and the tutorial's fleet.yaml pointing at it"
mkdir -m 0700 "$work/ssh"
"$work/fleetdemo" keygen "$work/ssh"
sed -e "s#public_key_file: ~/.ssh/id_ed25519.pub#public_key_file: ssh/id_ed25519.pub#" \
	-e "s#private_key: {file: ~/.ssh/id_ed25519}#private_key: {file: ssh/id_ed25519}#" \
	examples/tutorial/fleet.yaml >"$work/fleet.yaml"
if [ "$ssh_port" != 22 ]; then
	sed -i -e "s#^\(    private_key: {file: ssh/id_ed25519}\)\$#\1\n    port: $ssh_port#" \
		-e "s#port: \"22\"#port: \"$ssh_port\"#" "$work/fleet.yaml"
fi
grep -q "public_key_file: ssh/id_ed25519.pub" "$work/fleet.yaml" && grep -q "private_key: {file: ssh/id_ed25519}" "$work/fleet.yaml" ||
	die "examples/tutorial/fleet.yaml no longer has the SSH key lines the demo replaces"
echo "fleet.yaml = examples/tutorial/fleet.yaml with:"
changed="public_key_file|private_key"
[ "$ssh_port" = 22 ] || changed="$changed|port: \"?$ssh_port\"?\$"
grep -nE "$changed" "$work/fleet.yaml" | sed 's/^/  /'
echo "HCLOUD_TOKEN and RUNNER_TOKEN are demo values (the demo checks that no output shows them)."

heading "fleetctl validate: every check that needs no network"
fleetctl validate -f fleet.yaml

heading "fleetctl plan: an empty project, so everything is created"
want=2 fleetctl plan -f fleet.yaml --detailed-exitcode
note "API requests so far: $("$work/fleetdemo" stats "$HCLOUD_ENDPOINT")"

heading "fleetctl apply: SSH key, firewall, manager, then config.toml and the plugin over SFTP"
start=$SECONDS
fleetctl apply -f fleet.yaml
note "apply took $((SECONDS - start)) s"

heading "fleetctl plan again: nothing to do"
before=$("$work/fleetdemo" stats "$HCLOUD_ENDPOINT")
fleetctl plan -f fleet.yaml --detailed-exitcode
note "that plan made $(($("$work/fleetdemo" stats "$HCLOUD_ENDPOINT") - before)) API requests"

config=$work/sim/servers/runner-manager/etc/gitlab-runner/config.toml
heading "config.toml as pushed to the manager (tokens masked)"
[ -f "$config" ] || die "no config.toml on the manager"
ls -l "$config" | sed "s#$work/sim/servers/runner-manager##"
masked=$(sed -E 's/^([[:space:]]*[A-Za-z_]*token[A-Za-z_]*[[:space:]]*=[[:space:]]*).*/\1"***"/' "$config")
if grep -qF -e "$HCLOUD_TOKEN" -e "$RUNNER_TOKEN" <<<"$masked"; then
	die "masking config.toml failed"
fi
printf '%s\n' "$masked"

heading "Change the spec: idle_count 8 -> 2, and plan it"
grep -q "idle_count: 8" "$work/fleet.yaml" || die "fleet.yaml has no idle_count: 8"
sed -i 's/idle_count: 8/idle_count: 2/' "$work/fleet.yaml"
want=2 fleetctl plan -f fleet.yaml --detailed-exitcode

heading "fleetctl apply: config.toml and the fleet.yaml copy rewritten; a policy change needs no restart"
fleetctl apply -f fleet.yaml
grep -q "idle_count = 2" "$config" || die "config.toml on the manager does not have idle_count = 2"
grep -n "idle_count" "$config" | sed 's/^/  config.toml:/'

heading "The plugin: fleeting's provisioner runs fleetctl as gitlab-runner does and asks for 3 instances"
if grep -rqs "FLEETING_INSTANCE_GROUP_PLUGIN" cmd/fleetctl; then
	plugin() {
		"$work/fleetdemo" scale --plugin "$BIN/fleetctl" --spec "$work/fleet.yaml" --runner hetzner-docker-autoscaler \
			--key-file "$work/ssh/instances.key" "$@" 2>"$work/plugin.log" || {
			cat "$work/plugin.log" >&2
			die "scaling through the plugin failed"
		}
		! grep -qF -e "$HCLOUD_TOKEN" -e "$RUNNER_TOKEN" "$work/plugin.log" || die "the plugin logged a secret"
	}
	plugin --steps 3
	echo "project: $("$work/fleetdemo" project "$HCLOUD_ENDPOINT")"

	heading "fleetctl plan lists the plugin's instances and leaves them alone"
	fleetctl plan -f fleet.yaml --detailed-exitcode

	heading "fleetctl status: the manager, gitlab-runner, 3 running instances and what they cost"
	fleetctl status -f fleet.yaml
	grep -q "instances    3 (3 running" "$work/out" || die "status does not show 3 running instances"
	grep -q "/hour, €" "$work/out" || die "status shows no cost"

	heading "A new plugin process (as after a gitlab-runner restart) takes the instances over and scales to 0"
	plugin --steps 0
	echo "project: $("$work/fleetdemo" project "$HCLOUD_ENDPOINT")"
else
	note "skipped: fleetctl's plugin mode is not in this checkout yet"
fi

heading "fleetctl destroy: everything the fleet owns"
fleetctl destroy -f fleet.yaml --confirm gitlab-ci
left=$("$work/fleetdemo" project "$HCLOUD_ENDPOINT")
echo "project: $left"
case $left in "servers 0, SSH keys 0, firewalls 0, primary IPs 0, volumes 0") ;; *) die "destroy left resources behind" ;; esac
note "API requests in total: $("$work/fleetdemo" stats "$HCLOUD_ENDPOINT")"

heading "Stop the simulator"
kill "$sim_pid"
wait "$sim_pid" 2>/dev/null || true
sim_pid=
echo "Demo complete."
