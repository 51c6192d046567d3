#!/usr/bin/env bash
# migsec lab: two hypervisor hosts and two appliances in network namespaces.
#
#   tests/lab.sh up [--policy discard|bypass] [--workers N] [--mtu N (1280..9000, default 9000)]
#                   [--poll busy|adaptive|interrupt] [--direct]
#                   [--inner af_packet|af_xdp|tap] [--outer af_packet|af_xdp|memif|tap]
#                   [--profile NAME] [--members PRIMARY,SECONDARY] [--pci ADDR]
#   tests/lab.sh status
#   tests/lab.sh down
#   tests/lab.sh ctl ARGS...      migsecctl from the management namespace
#
#  P-hA (host A)          P-apA (appliance A)           P-apB (appliance B)          P-hB (host B)
#  eth0 192.0.2.1/24 ---- inner     outer ============== outer     inner ---- eth0 192.0.2.2/24
#  2001:db8:1::1/64       .253 ::fd 203.0.113.1          203.0.113.2 .254 ::fe    2001:db8:1::2/64
#                                   2001:db8:ff::1       2001:db8:ff::2
#                         mgmt 198.51.100.2/30           mgmt 198.51.100.6/30
#                            |                              |
#                         apA 198.51.100.1/30 -- P-mg -- apB 198.51.100.5/30
#                                      (management plane: migsecctl)
#
# Both hosts sit on one subnet: each appliance answers ARP/ND for the other
# host (proxy), so no routes are needed. The appliances' ports are DPDK
# net_af_packet ports (unless --inner/--outer say otherwise) on the veths "inner" and "outer" of their namespace;
# "mgmt" is a kernel interface on which migsec-control listens (TLS 1.3,
# port 7443). P is $LAB (default "ms"); several labs can coexist with
# different LAB values.
# --inner / --outer pick the DPDK port kind of both appliances' inner and
# outer links (default af_packet on both): af_packet (net_af_packet on a
# veth; AFP_FRAMES frames per ring, default 4096 up to MTU 1900 and 512
# above; AFP_BYPASS=0 turns off qdisc_bypass, which the PMD itself turns on
# and the captures rely on: with it, a tcpdump on an appliance's veth sees
# only what that veth receives; perf/port-bench measured both, docs/benchmarks.md), af_xdp (net_af_xdp on a veth, one queue per worker; MTU at
# most 1500, see AFXDP_MAX_MTU), tap (net_tap: the appliance makes
# the interface; MTU at most 1500; the lab moves the inner one into the host's namespace as
# eth0, the outer ones into P-ow, bridged there as "wire"), memif (outer only:
# net_memif from A, the server, to B, the client, over the socket
# $LAB_DIR/memif.sock; no kernel and no veth, so nothing to capture).
# WORKER_CPUS=A,B (one worker per appliance) puts appliance A's worker on
# CPU A and B's on CPU B, each main lcore on the other CPU (default 0,1;
# 1,1 leaves CPU 0 to the hosts: perf/vm-bench measured both).
# SLEEP_AFTER_US and SLEEP_MAX_US set the appliances' poll.sleep_after_us
# and poll.sleep_max_us (docs/configuration.md; unset: the data plane's
# defaults, 500 and 1000). perf/vm-bench and the demo run interrupt polling
# with SLEEP_AFTER_US=0 (docs/benchmarks.md).
# SPLIT_MAC=1 (default) gives the kernel side of the appliances' af_packet
# and af_xdp veths another MAC than the one their ports took, once the data
# plane is up: the namespace's own stack then drops the data plane's frames
# at once instead of routing each (docs/benchmarks.md); SPLIT_MAC=0 keeps them equal.
# --direct adds a link between the hosts that bypasses the appliances
# (hA:eth1 203.0.113.101/24 <-> hB:eth1 203.0.113.102/24, the lab's MTU):
# what a migration without migsec runs on, for comparisons.
# --profile picks the appliances' crypto profile (pmd-profiles/NAME.conf,
# default $PROFILE or aesni_gcm); for failover, --members names primary and
# secondary (default $MEMBERS or aesni_gcm,openssl: a lab has no QAT);
# --pci gives crypto.pci for profiles that drive a PCI device (qat).
# State (configs, certificates made at "up", logs, audit files, control
# sockets) lives in $LAB_DIR (default
# /run/migsec-lab/$LAB). Nothing here holds a migration key: migsecctl makes
# one per migration (see README.md, "Try it by hand").
set -euo pipefail

LAB=${LAB:-ms}
TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${BUILD:-$TOP/build}
LAB_DIR=${LAB_DIR:-/run/migsec-lab/$LAB}
DP=$BUILD/dataplane/migsec-dataplane
DPCTL=$BUILD/tools/migsec-dpctl
CONTROL=$BUILD/control/migsec-control
MIGSECCTL=$BUILD/control/migsecctl
CTL_USER=${CTL_USER:-nobody}

NS_HA=$LAB-hA NS_APA=$LAB-apA NS_APB=$LAB-apB NS_HB=$LAB-hB NS_MG=$LAB-mg NS_OW=$LAB-ow
ALL_NS="$NS_HA $NS_APA $NS_APB $NS_HB $NS_MG $NS_OW"	# NS_OW: only with --outer tap
# The largest MTU net_af_xdp carries in this lab: DPDK 22.11's af_xdp PMD
# makes its UMEM from the mbuf pool, one chunk per mbuf, and the kernel
# takes chunks of at most a page ("Failed to create umem" with the lab's
# 12 KiB jumbo mbufs); it has no multi-buffer, so a frame must fit one
# chunk less XDP's 256-byte headroom. With the lab's 2 KiB mbufs, MTU 1500
# carries; at MTU 1900 the full-size ESP frames are lost (measured).
AFXDP_MAX_MTU=1500
# net_tap (DPDK 22.11) reports 1522-byte frames, so its ethdev MTU stays
# 1500, and it drops on transmit what exceeds that MTU.
TAP_MAX_MTU=1500

die() { echo "lab.sh: $*" >&2; exit 1; }
nsx() { local ns=$1; shift; ip netns exec "$ns" "$@"; }

[ "$(id -u)" -eq 0 ] || die "needs root (network namespaces, DPDK)"
[ ${#LAB} -le 8 ] || die "LAB must be at most 8 characters"

# veth with offloads off: af_packet must see MTU-sized frames with finished
# checksums (LAB-NOTES.md).
veth() {  # veth NS1 IF1 NS2 IF2 MTU [QUEUES]
	local t1="${LAB}x$RANDOM" t2="${LAB}y$RANDOM" q=${6:-1}
	ip link add "$t1" mtu "$5" numtxqueues "$q" numrxqueues "$q" type veth \
		peer name "$t2" mtu "$5" numtxqueues "$q" numrxqueues "$q"
	ip link set "$t1" netns "$1"
	ip link set "$t2" netns "$3"
	nsx "$1" ip link set "$t1" name "$2"
	nsx "$3" ip link set "$t2" name "$4"
	for end in "$1 $2" "$3 $4"; do
		set -- $end
		nsx "$1" ethtool -K "$2" tx off rx off tso off gso off gro off >/dev/null 2>&1 || true
		nsx "$1" ip link set "$2" up
	done
}

# Test PKI, made fresh at every "up" with the openssl CLI: a CA, one server
# certificate per appliance (its management address as subjectAltName), the
# management plane's client certificate (CN=migsecctl, an operator) and
# three more clients the authorization test uses (observer, operator2 and
# admin: the roles of mgmt.clients), and the CA's CRL, empty: "openssl ca
# -config $LAB_DIR/pki/ca.cnf -revoke CERT" and -gencrl, then SIGHUP, revoke.
CLIENT_EXT="extendedKeyUsage=clientAuth\nkeyUsage=digitalSignature"
make_pki() {
	local d=$LAB_DIR/pki
	mkdir -p "$d"
	openssl req -x509 -new -nodes -newkey ec -pkeyopt ec_paramgen_curve:P-256 \
		-keyout "$d/ca.key" -out "$d/ca.pem" -days 2 -subj "/CN=migsec lab CA $LAB" 2>/dev/null
	pki_cert "$d" apA apA "subjectAltName=IP:198.51.100.2\nextendedKeyUsage=serverAuth\nkeyUsage=digitalSignature"
	pki_cert "$d" apB apB "subjectAltName=IP:198.51.100.6\nextendedKeyUsage=serverAuth\nkeyUsage=digitalSignature"
	pki_cert "$d" mgmt migsecctl "$CLIENT_EXT"
	for who in observer operator2 admin; do pki_cert "$d" "$who" "$who" "$CLIENT_EXT"; done
	: > "$d/index.txt"
	printf '[ca]\ndefault_ca=d\n[d]\ndatabase=%s/index.txt\ndefault_md=sha256\ndefault_crl_days=2\n' \
		"$d" > "$d/ca.cnf"
	openssl ca -config "$d/ca.cnf" -cert "$d/ca.pem" -keyfile "$d/ca.key" -gencrl \
		-out "$d/ca.crl" 2>/dev/null
	chmod 600 "$d"/*.key
}

pki_cert() {  # pki_cert DIR NAME CN EXTENSIONS
	openssl req -new -nodes -newkey ec -pkeyopt ec_paramgen_curve:P-256 \
		-keyout "$1/$2.key" -out "$1/$2.csr" -subj "/CN=$3" 2>/dev/null
	printf '%b\n' "$4" > "$1/$2.ext"
	openssl x509 -req -in "$1/$2.csr" -CA "$1/ca.pem" -CAkey "$1/ca.key" \
		-CAcreateserial -out "$1/$2.pem" -days 2 -extfile "$1/$2.ext" 2>/dev/null
}

# The device string of one port: port_dev KIND INDEX SIDE APPLIANCE
port_dev() {
	case $1 in
	af_packet)
		echo "net_af_packet$2,iface=$3,qpairs=$WORKERS,blocksz=$BLOCK,framesz=$FRAME,framecnt=${AFP_FRAMES:-$FRAMES},qdisc_bypass=${AFP_BYPASS:-1}" ;;
	af_xdp) echo "net_af_xdp$2,iface=$3,start_queue=0,queue_count=$WORKERS" ;;
	tap) echo "net_tap$2,iface=$(tap_name "$3" "$4")" ;;
	memif)
		local role=server
		[ "$4" = apA ] || role=client
		# a socket in the file system (not abstract: those are per namespace)
		echo "net_memif$2,role=$role,id=0,socket=$LAB_DIR/memif.sock,socket-abstract=no,bsize=$FRAME" ;;
	esac
}

tap_name() { echo "$LAB-${2#ap}${1:0:1}"; }	# tap_name SIDE APPLIANCE: e.g. ms-Ai

# A locally administered unicast MAC for the kernel side of a port's
# interface: net_tap gives a tap the port's own MAC, and a bridge takes
# frames to its ports' own MACs for itself instead of forwarding them; an
# af_packet or af_xdp port keeps its veth's MAC (split_macs).
kernel_mac() { printf '02:%02x:%02x:%02x:%02x:%02x' $((RANDOM % 256)) $((RANDOM % 256)) \
	$((RANDOM % 256)) $((RANDOM % 256)) $((RANDOM % 256)); }

# After appliance APP started: its taps to where the veths would be.
place_taps() {  # place_taps APP NS HOSTNS
	local t
	if [ "$INNER" = tap ]; then
		t=$(tap_name inner "$1")
		nsx "$2" ip link set "$t" down
		nsx "$2" ip link set "$t" netns "$3"
		nsx "$3" ip link set "$t" name eth0 address "$(kernel_mac)"
		nsx "$3" ip link set eth0 mtu "$MTU" up
	fi
	if [ "$OUTER" = tap ]; then
		t=$(tap_name outer "$1")
		nsx "$2" ip link set "$t" down
		nsx "$2" ip link set "$t" netns "$NS_OW"
		nsx "$NS_OW" ip link set "$t" address "$(kernel_mac)" mtu "$MTU" master wire up
	fi
}

# After the appliance in namespace NS started, its ports having taken their
# veths' MACs as their own: the kernel side of its af_packet and af_xdp
# veths gets another MAC. The namespace's own stack then takes the data
# plane's frames for another host's and drops them at once (ip_rcv),
# instead of running the IP input and a failed route lookup on every one,
# which costs the sending worker (a veth transmit runs the receiver's
# stack; measured in docs/benchmarks.md, perf/port-bench variants "m" keep
# the MACs equal). SPLIT_MAC=0 leaves the MACs equal.
split_macs() {  # split_macs NS
	[ "$SPLIT_MAC" = 1 ] || return 0
	case $INNER in af_packet|af_xdp) nsx "$1" ip link set inner address "$(kernel_mac)" ;; esac
	case $OUTER in af_packet|af_xdp) nsx "$1" ip link set outer address "$(kernel_mac)" ;; esac
}

write_conf() {  # write_conf NAME INNER4 INNER6 OUTER4 OUTER6 PEER4 PEER6 RHOST4 RHOST6 LCORES MAINLCORE MGMT4 [MAXSA]
	local name=$1 f=$LAB_DIR/$1.conf
	# AFP_FRAMES: frames in each af_packet ring (default $FRAMES, see up();
	# the hostile test and the two-worker window checks set their own)
	# REPLAY_WINDOW: policy.replay_window (default 1024).
	# HUGE_UNLINK: eal.huge_unlink (default true; it_faults keeps the files
	# in one lab to show what the default prevents)
	# HUGEPAGES: eal.hugepages (default auto: hugepages when enough are
	# free, else --no-huge; "no" shows what the hostile suite's hugepage
	# checks report without them: a skip, docs/tests.md "Skips")
	cat > "$f" <<EOF
# Generated by tests/lab.sh for appliance $name.
name = "$name";
eal: {
  lcores = "${10}";
  main_lcore = ${11};
  file_prefix = "$LAB-$name";
  memory_mb = 256;
  hugepages = "${HUGEPAGES:-auto}";${HUGE_UNLINK:+
  huge_unlink = $HUGE_UNLINK;}
  log_level = "${LOG_LEVEL:-info}";
};
crypto: { profile = "$PROFILE"; profile_dir = "$TOP/pmd-profiles";$CRYPTO_EXTRA };
inner: { device = "$(port_dev "$INNER" 0 inner "$name")"; ipv4 = "$2/24"; ipv6 = "$3/64"; mtu = $MTU; };
outer: { device = "$(port_dev "$OUTER" 1 outer "$name")"; ipv4 = "$4/24"; ipv6 = "$5/64"; mtu = $MTU; };
remote = (
  { prefix = "$8/32"; via = "$6"; },
  { prefix = "$9/128"; via = "$7"; }
);
policy: { default = "$POLICY"; replay_window = ${REPLAY_WINDOW:-1024}; };
poll: { mode = "$POLL";${SLEEP_AFTER_US:+ sleep_after_us = $SLEEP_AFTER_US;}${SLEEP_MAX_US:+ sleep_max_us = $SLEEP_MAX_US;} };
limits: { mbufs = 16384; mbuf_size = $MBUF; max_sa = ${13:-1024}; };
control: { socket = "$LAB_DIR/$name.sock"; user = "$CTL_USER"; };
mgmt: {
  listen = "${12}:7443";
  ca = "$LAB_DIR/pki/ca.pem"; cert = "$LAB_DIR/pki/$name.pem"; key = "$LAB_DIR/pki/$name.key";
  crl = "$LAB_DIR/pki/ca.crl";
  clients = (
    { identity = "CN=migsecctl"; role = "operator"; },
    { identity = "CN=operator2"; role = "operator"; },
    { identity = "CN=observer"; role = "observer"; },
    { identity = "CN=admin"; role = "admin"; }
  );
  peers = [ "$6", "$7" ];
  user = "$CTL_USER";
  audit_file = "$LAB_DIR/$name-audit.jsonl";
  query_socket = "$LAB_DIR/$name-query.sock";
  timeout_s = 3;
  drain_s = 2;
  drop_report_s = 2;
};
EOF
}

start_control() {  # start_control NAME NS
	setsid ip netns exec "$2" "$CONTROL" -c "$LAB_DIR/$1.conf" \
		>"$LAB_DIR/$1-control.log" 2>&1 </dev/null &
	echo $! > "$LAB_DIR/$1-control.pid"
}

ctl() {
	ip netns exec "$NS_MG" "$MIGSECCTL" --ca "$LAB_DIR/pki/ca.pem" \
		--cert "$LAB_DIR/pki/mgmt.pem" --key "$LAB_DIR/pki/mgmt.key" "$@"
}

wait_control() {  # wait_control NAME=ADDR:PORT NAME
	for _ in $(seq 1 100); do
		ctl --timeout 2 health "$1" >/dev/null 2>&1 && return 0
		if ! kill -0 "$(cat "$LAB_DIR/$2-control.pid")" 2>/dev/null; then
			cat "$LAB_DIR/$2-control.log" >&2
			die "migsec-control $2 exited during start-up (log above)"
		fi
		sleep 0.1
	done
	die "migsec-control $2 did not answer within 10 s"
}

start_dp() {  # start_dp NAME NS
	local name=$1 ns=$2
	# DP_WRAP: a command to run the data plane under (e.g. setpriv with the
	# systemd unit's capability bounding set); it must exec, not fork.
	# shellcheck disable=SC2086
	setsid ip netns exec "$ns" ${DP_WRAP:-} "$DP" -c "$LAB_DIR/$name.conf" \
		>"$LAB_DIR/$name.log" 2>&1 </dev/null &
	echo $! > "$LAB_DIR/$name.pid"
}

wait_dp() {  # wait until the control socket answers (bounded)
	local name=$1
	for _ in $(seq 1 100); do
		if "$DPCTL" -s "$LAB_DIR/$name.sock" ping >/dev/null 2>&1; then
			return 0
		fi
		if ! kill -0 "$(cat "$LAB_DIR/$name.pid")" 2>/dev/null; then
			cat "$LAB_DIR/$name.log" >&2
			die "appliance $name exited during start-up (log above)"
		fi
		sleep 0.2
	done
	die "appliance $name did not answer on its control socket within 20 s"
}

up() {
	POLICY=discard WORKERS=1 MTU=9000 POLL=busy PROFILE=${PROFILE:-aesni_gcm} MEMBERS=${MEMBERS:-} PCI=""
	DIRECT=0 INNER=af_packet OUTER=af_packet
	while [ $# -gt 0 ]; do
		[ "$1" = --direct ] && { DIRECT=1; shift; continue; }
		[ $# -ge 2 ] || die "option $1 needs a value"
		case $1 in
		--policy) POLICY=$2; shift 2 ;;
		--workers) WORKERS=$2; shift 2 ;;
		--mtu) MTU=$2; shift 2 ;;
		--poll) POLL=$2; shift 2 ;;
		--profile) PROFILE=$2; shift 2 ;;
		--members) MEMBERS=$2; shift 2 ;;
		--pci) PCI=$2; shift 2 ;;
		--inner) INNER=$2; shift 2 ;;
		--outer) OUTER=$2; shift 2 ;;
		*) die "unknown option $1" ;;
		esac
	done
	case $POLICY in discard|bypass) ;; *) die "--policy must be discard or bypass" ;; esac
	[ -f "$TOP/pmd-profiles/$PROFILE.conf" ] || die "--profile: no $TOP/pmd-profiles/$PROFILE.conf"
	CRYPTO_EXTRA=""
	if [ "$PROFILE" = failover ]; then
		MEMBERS=${MEMBERS:-aesni_gcm,openssl}
		case $MEMBERS in
		[a-z]*,[a-z]*) ;;
		*) die "--members must be PRIMARY,SECONDARY (profile names)" ;;
		esac
		CRYPTO_EXTRA=" primary = \"${MEMBERS%,*}\"; secondary = \"${MEMBERS#*,}\";"
	elif [ -n "$MEMBERS" ]; then
		die "--members is for --profile failover"
	fi
	[ -z "$PCI" ] || CRYPTO_EXTRA="$CRYPTO_EXTRA pci = \"$PCI\";"
	case $WORKERS in 1|2) ;; *) die "--workers must be 1 or 2 on this lab" ;; esac
	[ "$MTU" -ge 1280 ] && [ "$MTU" -le 9000 ] || die "--mtu must be 1280..9000"
	case $POLL in busy|adaptive|interrupt) ;; *) die "--poll must be busy, adaptive or interrupt" ;; esac
	case $INNER in af_packet|af_xdp|tap) ;; *) die "--inner must be af_packet, af_xdp or tap (not \"$INNER\")" ;; esac
	case $OUTER in af_packet|af_xdp|memif|tap) ;;
	*) die "--outer must be af_packet, af_xdp, memif or tap (not \"$OUTER\")" ;; esac
	case ${SLEEP_AFTER_US:-0} in *[!0-9]*|?????????*) die "SLEEP_AFTER_US must be a number of microseconds, 0..10000000 (not \"$SLEEP_AFTER_US\")" ;; esac
	case ${SLEEP_MAX_US:-1} in *[!0-9]*|0|???????*) die "SLEEP_MAX_US must be a number of microseconds, 1..100000 (not \"$SLEEP_MAX_US\")" ;; esac
	case ${SPLIT_MAC:=1} in 0|1) ;; *) die "SPLIT_MAC must be 0 or 1 (not \"$SPLIT_MAC\")" ;; esac
	case ${WORKER_CPUS:-0,1} in [01],[01]) ;; *) die "WORKER_CPUS must be A,B with CPUs 0 or 1 (not \"$WORKER_CPUS\")" ;; esac
	[ -z "${WORKER_CPUS:-}" ] || [ "$WORKERS" -eq 1 ] || die "WORKER_CPUS is for --workers 1"
	if [ "$INNER" = tap ] || [ "$OUTER" = tap ]; then
		[ "$MTU" -le "$TAP_MAX_MTU" ] || die "--mtu $MTU: tap carries at most MTU $TAP_MAX_MTU (DPDK 22.11's net_tap reports 1522-byte frames and drops larger ones on transmit); use --mtu $TAP_MAX_MTU or less, or af_packet"
	fi
	if [ "$INNER" = af_xdp ] || [ "$OUTER" = af_xdp ]; then
		[ "$MTU" -le "$AFXDP_MAX_MTU" ] || die "--mtu $MTU: af_xdp carries at most MTU $AFXDP_MAX_MTU in this lab (DPDK 22.11's net_af_xdp puts each frame in one mbuf-sized UMEM chunk, at most a page; no multi-buffer); use --mtu $AFXDP_MAX_MTU or less, or af_packet"
	fi
	[ -x "$DP" ] && [ -x "$DPCTL" ] || die "build first: $DP missing"
	for ns in $ALL_NS; do
		ip netns list | grep -qw "$ns" && die "lab $LAB is already up (tests/lab.sh down first)"
	done
	# af_packet frames must hold a whole frame; mbufs must hold frame + ESP.
	# Frames per af_packet ring: 4096 of 2 KiB, 512 of 12 KiB, about 8 and 6
	# MiB (perf/port-bench: at MTU 1500, 512 overflowed whenever the poller
	# was off its CPU; at 9000, 512 lost nothing and 4096 was slower).
	FRAME=2048 BLOCK=4096 MBUF=2176 FRAMES=4096
	if [ "$MTU" -gt 1900 ]; then FRAME=12288 BLOCK=12288 MBUF=12416 FRAMES=512; fi
	# From here on a failure removes whatever was created.
	trap 'rc=$?; [ $rc -eq 0 ] || down >/dev/null 2>&1; exit $rc' EXIT
	mkdir -p "$LAB_DIR"
	chmod 711 "$LAB_DIR"	# migsec-control runs as $CTL_USER and opens the data plane's socket
	make_pki
	for ns in $ALL_NS; do
		[ "$ns" != "$NS_OW" ] || [ "$OUTER" = tap ] || continue
		ip netns add "$ns"; nsx "$ns" ip link set lo up
	done
	if [ "$OUTER" = tap ]; then	# no IPv6 of its own on the wire (MLD, RS)
		nsx "$NS_OW" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
		nsx "$NS_OW" ip link add wire type bridge
		nsx "$NS_OW" ip link set wire mtu "$MTU" up
	fi
	for ns in $NS_APA $NS_APB; do
		nsx "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
	done
	# af_xdp takes one veth queue per worker
	local qi=1 qo=1
	[ "$INNER" != af_xdp ] || qi=$WORKERS
	[ "$OUTER" != af_xdp ] || qo=$WORKERS
	if [ "$INNER" != tap ]; then
		veth "$NS_HA" eth0 "$NS_APA" inner "$MTU" "$qi"
		veth "$NS_APB" inner "$NS_HB" eth0 "$MTU" "$qi"
	fi
	case $OUTER in af_packet|af_xdp) veth "$NS_APA" outer "$NS_APB" outer "$MTU" "$qo" ;; esac
	veth "$NS_MG" apA "$NS_APA" mgmt 1500
	veth "$NS_MG" apB "$NS_APB" mgmt 1500
	nsx "$NS_MG" ip addr add 198.51.100.1/30 dev apA
	nsx "$NS_MG" ip addr add 198.51.100.5/30 dev apB
	nsx "$NS_APA" ip addr add 198.51.100.2/30 dev mgmt
	nsx "$NS_APB" ip addr add 198.51.100.6/30 dev mgmt
	if [ "$DIRECT" -eq 1 ]; then
		veth "$NS_HA" eth1 "$NS_HB" eth1 "$MTU"
		nsx "$NS_HA" ip addr add 203.0.113.101/24 dev eth1
		nsx "$NS_HB" ip addr add 203.0.113.102/24 dev eth1
	fi
	# Appliance A's worker(s) on CPU 0, B's on CPU 1; control threads mostly sleep.
	local la lb
	if [ "$WORKERS" -eq 1 ]; then
		local ca=${WORKER_CPUS:-0,1}
		local cb=${ca#*,}
		ca=${ca%,*}
		la="0@$((1 - ca)),1@$ca" lb="0@$((1 - cb)),1@$cb"
	else
		la="0@1,1@0,2@1" lb="0@0,1@1,2@0"
	fi
	write_conf apA 192.0.2.253 2001:db8:1::fd 203.0.113.1 2001:db8:ff::1 \
		203.0.113.2 2001:db8:ff::2 192.0.2.2 2001:db8:1::2 "$la" 0 198.51.100.2
	write_conf apB 192.0.2.254 2001:db8:1::fe 203.0.113.2 2001:db8:ff::2 \
		203.0.113.1 2001:db8:ff::1 192.0.2.1 2001:db8:1::1 "$lb" 0 198.51.100.6 "${MAX_SA_B:-1024}"
	# One after the other: each decides on hugepages from what is free when
	# it starts ("auto"), so B must see what A took.
	start_dp apA "$NS_APA"
	wait_dp apA
	place_taps apA "$NS_APA" "$NS_HA"
	split_macs "$NS_APA"
	start_dp apB "$NS_APB"
	wait_dp apB
	place_taps apB "$NS_APB" "$NS_HB"
	split_macs "$NS_APB"
	nsx "$NS_HA" ip addr add 192.0.2.1/24 dev eth0
	nsx "$NS_HA" ip -6 addr add 2001:db8:1::1/64 dev eth0 nodad
	nsx "$NS_HB" ip addr add 192.0.2.2/24 dev eth0
	nsx "$NS_HB" ip -6 addr add 2001:db8:1::2/64 dev eth0 nodad
	start_control apA "$NS_APA"
	start_control apB "$NS_APB"
	wait_control apA=198.51.100.2:7443 apA
	wait_control apB=198.51.100.6:7443 apB
	local after="" macs=""	# busy polling never waits
	[ "$SPLIT_MAC" = 1 ] || macs=", SPLIT_MAC=0"
	[ "$POLL" = busy ] || after=${SLEEP_AFTER_US:+ (waits after $SLEEP_AFTER_US us idle)}
	echo "lab $LAB up: policy $POLICY, $WORKERS worker(s) per appliance, MTU $MTU, polling $POLL$after, ports $INNER (inner) $OUTER (outer), crypto $PROFILE${MEMBERS:+ ($MEMBERS)}${WORKER_CPUS:+, worker CPUs $WORKER_CPUS}$macs"
	echo "  hosts:      $NS_HA (192.0.2.1, 2001:db8:1::1)  $NS_HB (192.0.2.2, 2001:db8:1::2)"
	[ "$DIRECT" -eq 0 ] || echo "  direct:     $NS_HA eth1 203.0.113.101 <-> $NS_HB eth1 203.0.113.102 (no appliance)"
	echo "  appliances: $NS_APA (outer 203.0.113.1)  $NS_APB (outer 203.0.113.2)"
	echo "  data plane: $DPCTL -s $LAB_DIR/apA.sock stats   (apB.sock likewise)"
	echo "  management: LAB=$LAB tests/lab.sh ctl status apA=198.51.100.2:7443 apB=198.51.100.6:7443"
}

stop_dp() {
	local name=$1 pidf=$LAB_DIR/$1.pid pid
	[ -f "$pidf" ] || return 0
	pid=$(cat "$pidf")
	if kill -0 "$pid" 2>/dev/null; then
		kill -TERM "$pid" 2>/dev/null || true
		for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
		kill -0 "$pid" 2>/dev/null && { echo "lab.sh: $name did not stop on SIGTERM, killing" >&2; kill -KILL "$pid"; }
	fi
	rm -f "$pidf"
}

down() {
	stop_dp apA-control
	stop_dp apB-control
	stop_dp apA
	stop_dp apB
	for ns in $ALL_NS; do
		ip netns list | grep -qw "$ns" && ip netns delete "$ns"
	done
	rm -f /dev/hugepages/"$LAB"-ap*map_* 2>/dev/null || true
	rm -rf /var/run/dpdk/"$LAB"-apA /var/run/dpdk/"$LAB"-apB  # the EALs' runtime files
	rm -rf "$LAB_DIR"
	echo "lab $LAB down"
}

status() {
	for ns in $ALL_NS; do
		if ip netns list | grep -qw "$ns"; then
			echo "== $ns"
			nsx "$ns" ip -br addr | grep -v '^lo'
		else
			echo "== $ns: absent"
		fi
	done
	for name in apA apB; do
		echo "== appliance $name"
		if [ -f "$LAB_DIR/$name.pid" ] && kill -0 "$(cat "$LAB_DIR/$name.pid")" 2>/dev/null; then
			"$DPCTL" -s "$LAB_DIR/$name.sock" stats || true
		else
			echo "not running"
		fi
	done
}

case ${1:-} in
up) shift; up "$@" ;;
down) down ;;
status) status ;;
ctl) shift; ctl "$@" ;;
*) sed -n '2,46p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
esac
