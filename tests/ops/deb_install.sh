#!/bin/bash
# ops (op_deb.py): install the .deb into a copy-on-write clone of this
# system and run its units under a real systemd. Run it in a private mount
# namespace:  unshare -m --propagation private bash deb_install.sh DEB SCRATCH
# It prints one "ok: ..." or "FAIL: ..." line per check.
#
# The clone is an overlay of / on a tmpfs; dpkg runs in a chroot of it with
# its maintainer scripts. Then systemd 252 boots in the clone as PID 1 of
# its own PID and network namespaces (container mode), with a target that
# wants only the two migsec units (plus DefaultDependencies=no drop-ins, so
# that nothing of the clone's early boot runs): the units' sandboxing, user,
# capabilities and system call filters are systemd's own. The data plane's
# ports are af_packet on veths in that network namespace. Nothing persists:
# the namespaces die with their processes, the clone with the mount
# namespace; cgroups that this systemd creates are removed at the end.
set -u
DEB=$1 W=$2
R=$W/cow/root NAME=opsd
HOLD= UPID= S=

ok() { echo "ok: $*"; }
fail() { echo "FAIL: $*"; }
t() {  # t WHAT COMMAND...: ok if the command succeeds
	local what=$1; shift
	if "$@" >/dev/null 2>&1; then ok "$what"; else fail "$what"; fi
}
cr() { chroot "$R" "$@"; }
sx() { nsenter -t "$S" -m -p -n -r -w "$@"; }   # inside the booted clone
nx() { nsenter -t "$HOLD" -n "$@"; }             # in its network namespace

cgroups_before=$(find /sys/fs/cgroup -maxdepth 2 \( -name init.scope -o -name system.slice \) 2>/dev/null)
cleanup() {
	# unshare --fork ignores SIGTERM; killing the namespace's PID 1 ends it all.
	[ -n "$S" ] && kill -KILL "$S" 2>/dev/null
	[ -n "$UPID" ] && kill -KILL "$UPID" 2>/dev/null && wait "$UPID" 2>/dev/null
	[ -n "$HOLD" ] && kill -KILL "$HOLD" 2>/dev/null && wait "$HOLD" 2>/dev/null
	# cgroups this systemd made (rmdir only removes empty ones)
	for d in $(find /sys/fs/cgroup -maxdepth 2 \( -name init.scope -o -name system.slice \) 2>/dev/null); do
		grep -qxF "$d" <<<"$cgroups_before" || find "$d" -depth -type d -exec rmdir {} \; 2>/dev/null
	done
}
trap cleanup EXIT
trap 'exit 1' INT TERM

mkdir -p "$W/cow" && mount -t tmpfs tmpfs "$W/cow" || { fail "tmpfs for the clone"; exit 1; }
mkdir "$W/cow/upper" "$W/cow/work" "$R"
mount -t overlay overlay -o "lowerdir=/,upperdir=$W/cow/upper,workdir=$W/cow/work" "$R" \
	|| { fail "overlay clone of /"; exit 1; }
mount -t proc proc "$R/proc"
mount -t tmpfs tmpfs "$R/run"
mount -t tmpfs tmpfs "$R/tmp"
mount --bind /dev "$R/dev"
cp "$DEB" "$R/tmp/migsec.deb"

# ---- 1. dpkg -i, maintainer scripts included
if cr dpkg -s migsec >/dev/null 2>&1; then fail "migsec is already installed here"; exit 1; fi
t "dpkg -i the package" cr dpkg -i /tmp/migsec.deb
t "postinst created the system user migsec (no login)" \
	sh -c "chroot '$R' getent passwd migsec | grep -q ':/usr/sbin/nologin\$'"
for u in migsec-dataplane migsec-control; do
	t "$u.service enabled" test -L "$R/etc/systemd/system/multi-user.target.wants/$u.service"
done
out=$(cr systemd-analyze verify /lib/systemd/system/migsec-dataplane.service \
	/lib/systemd/system/migsec-control.service 2>&1)
if [ $? -eq 0 ] && [ -z "$out" ]; then ok "systemd-analyze verify of the installed units is clean"
else fail "systemd-analyze verify: $out"; fi
for b in /usr/sbin/migsec-dataplane /usr/sbin/migsec-control /usr/bin/migsecctl /usr/bin/migsec-dpctl; do
	t "$b --help in the installed system" cr "$b" --help
done
for p in migsec-dataplane migsec-control migsecctl migsec-dpctl migsec.conf; do
	t "man -w $p" cr man -w "$p"
done

# ---- 2. an appliance configuration, as docs/deploy.md describes it
umount "$R/run" "$R/proc"	# the booted systemd mounts its own
P=$W/pki
mkdir -p "$P"
openssl req -x509 -new -nodes -newkey ec -pkeyopt ec_paramgen_curve:P-256 -keyout "$P/ca.key" \
	-out "$P/ca.pem" -days 1 -subj "/CN=migsec ops CA" 2>/dev/null
cert() {  # cert NAME CN EXT
	openssl req -new -nodes -newkey ec -pkeyopt ec_paramgen_curve:P-256 -keyout "$P/$1.key" \
		-out "$P/$1.csr" -subj "/CN=$2" 2>/dev/null
	printf '%b\n' "$3" > "$P/$1.ext"
	openssl x509 -req -in "$P/$1.csr" -CA "$P/ca.pem" -CAkey "$P/ca.key" -CAcreateserial \
		-out "$P/$1.pem" -days 1 -extfile "$P/$1.ext" 2>/dev/null
}
cert app app "subjectAltName=IP:198.51.100.254\nextendedKeyUsage=serverAuth\nkeyUsage=digitalSignature"
cert mgmt migsecctl "extendedKeyUsage=clientAuth\nkeyUsage=digitalSignature"
install -d -m 0750 "$R/etc/migsec" && cr chgrp migsec /etc/migsec
cp "$P/ca.pem" "$P/app.pem" "$P/app.key" "$P/mgmt.pem" "$P/mgmt.key" "$R/etc/migsec/"
cr chown root:migsec /etc/migsec/app.key && chmod 0640 "$R/etc/migsec/app.key"
cat > "$R/etc/migsec/migsec.conf" <<EOF
name = "$NAME";
eal: { lcores = "0,1"; memory_mb = 256; hugepages = "no"; };
inner: { device = "net_af_packet0,iface=inner"; ipv4 = "192.0.2.253/24"; };
outer: { device = "net_af_packet1,iface=outer"; ipv4 = "203.0.113.1/24"; };
remote = ( { prefix = "192.0.2.2/32"; via = "203.0.113.2"; } );
control: { user = "migsec"; };
mgmt: {
  listen = "198.51.100.254:7443";
  ca = "/etc/migsec/ca.pem"; cert = "/etc/migsec/app.pem"; key = "/etc/migsec/app.key";
  clients = ( { identity = "CN=migsecctl"; role = "operator"; } );
  peers = [ "203.0.113.2" ];
  audit_file = "/var/log/migsec/audit.jsonl";
};
EOF
chmod 0640 "$R/etc/migsec/migsec.conf" && cr chgrp migsec /etc/migsec/migsec.conf
U=$R/etc/systemd/system
ln -sf /dev/null "$U/dpdk.service"	# it would reserve this machine's hugepages
for u in migsec-dataplane migsec-control; do
	mkdir -p "$U/$u.service.d"
	printf '[Unit]\nDefaultDependencies=no\n' > "$U/$u.service.d/ops-test.conf"
done
printf '[Unit]\nDefaultDependencies=no\nWants=migsec-dataplane.service migsec-control.service\n' \
	> "$U/migsec-ops-test.target"

# ---- 3. boot
unshare --net sleep infinity &
HOLD=$!
sleep 0.2
for pair in "inner ipeer" "outer opeer"; do
	set -- $pair
	nx ip link add "$1" type veth peer name "$2"
	for i in "$1" "$2"; do
		nx ethtool -K "$i" tx off rx off tso off gso off gro off >/dev/null 2>&1
		nx ip link set "$i" up
	done
done
nx ip link set lo up
nx ip addr add 198.51.100.254/32 dev lo
nx ip addr add 192.0.2.1/24 dev ipeer
nx ip addr add 203.0.113.2/24 dev opeer
nsenter -t "$HOLD" -n unshare --pid --fork --kill-child --propagation private sh -c "
	mount -t proc proc '$R/proc'
	mount -t sysfs -o ro sysfs '$R/sys'
	mount --rbind /sys/fs/cgroup '$R/sys/fs/cgroup'
	mount -t tmpfs tmpfs '$R/run'
	exec env container=other chroot '$R' /lib/systemd/systemd --system \
		--unit=migsec-ops-test.target --log-target=null --show-status=no" 2>"$W/boot.err" &
UPID=$!
for _ in $(seq 1 50); do S=$(pgrep -P "$UPID" -x systemd) && break; sleep 0.1; done
[ -n "$S" ] || { fail "systemd did not start in the clone: $(cat "$W/boot.err")"; exit 1; }
up=
for _ in $(seq 1 120); do
	if sx systemctl is-active -q migsec-dataplane migsec-control 2>/dev/null &&
	   sx migsec-dpctl ping >/dev/null 2>&1; then up=1; break; fi
	sleep 0.5
done
if [ -n "$up" ]; then ok "systemd started both units; the data plane answers on /run/migsec/dataplane.sock"
else fail "units not up: $(sx systemctl --no-pager status migsec-dataplane migsec-control 2>&1 | grep -E 'Active|Process|status=' | tr '\n' ' ')"
fi

# ---- 4. what systemd gave each daemon
proc_status() {  # proc_status UNIT: "uid capeff capbnd nonewprivs seccomp"
	local pid
	pid=$(sx systemctl show -p MainPID --value "$1")
	sx awk '/^Uid:/{u=$2} /^CapEff:/{e=$2} /^CapBnd:/{b=$2} /^NoNewPrivs:/{n=$2} /^Seccomp:/{s=$2}
		END {print u, e, b, n, s}' "/proc/$pid/status"
}
read -r uid eff bnd nnp sec <<<"$(proc_status migsec-dataplane)"
[ "$uid" = 0 ] && [ "$eff" = "$DP_CAPS" ] && [ "$bnd" = "$DP_CAPS" ] && [ "$nnp" = 1 ] && [ "$sec" = 2 ] \
	&& ok "migsec-dataplane: uid 0, capabilities $eff (the unit's), no-new-privs, seccomp filter" \
	|| fail "migsec-dataplane: uid $uid CapEff $eff CapBnd $bnd (want $DP_CAPS) NoNewPrivs $nnp Seccomp $sec"
mig=$(cr getent passwd migsec | cut -d: -f3)
read -r uid eff bnd nnp sec <<<"$(proc_status migsec-control)"
# CAP_IPC_LOCK (bit 14) only: mlockall() whatever RLIMIT_MEMLOCK systemd could set.
[ "$uid" = "$mig" ] && [ "$eff" = 0000000000004000 ] && [ "$bnd" = 0000000000004000 ] \
	&& [ "$nnp" = 1 ] && [ "$sec" = 2 ] \
	&& ok "migsec-control: user migsec ($uid), CAP_IPC_LOCK only, no-new-privs, seccomp filter" \
	|| fail "migsec-control: uid $uid (want $mig) CapEff $eff CapBnd $bnd NoNewPrivs $nnp Seccomp $sec"
[ -n "$uid" ] || echo "  migsec-control: $(sx systemctl --no-pager status migsec-control 2>&1 | tail -n 6 | tr '\n' ' ')"

# ---- 5. they work together, sealed traffic flows, tools find them
h=$(nsenter -t "$HOLD" -n chroot "$R" migsecctl --ca /etc/migsec/ca.pem --cert /etc/migsec/mgmt.pem \
	--key /etc/migsec/mgmt.key health "a=198.51.100.254:7443" 2>&1)
grep -q "data plane up" <<<"$h" && ok "migsecctl health over mutual TLS: $h" || fail "migsecctl health: $h"
tel=$(echo /migsec/info | sx env RUNTIME_DIRECTORY=/run/migsec dpdk-telemetry.py -f "$NAME" 2>&1)
grep -q "\"name\": \"$NAME\"" <<<"$tel" && ok "RUNTIME_DIRECTORY=/run/migsec dpdk-telemetry.py -f $NAME answers" \
	|| fail "telemetry: $tel"
openssl rand -hex 36 | sx migsec-dpctl sa add --id 1 --dir out --spi 0x1001 --local 203.0.113.1 \
	--peer 203.0.113.2 --sel src=192.0.2.1/32,dst=192.0.2.2/32 >/dev/null
nx ping -c 3 -i 0.2 -W 1 -I ipeer 192.0.2.2 >/dev/null 2>&1
sealed=$(sx migsec-dpctl stats --json | grep -o '"sealed_pkts":[0-9]*' | cut -d: -f2)
[ "${sealed:-0}" -ge 1 ] && ok "the confined data plane sealed $sealed packets (ESP out of its outer port)" \
	|| fail "nothing sealed ($(sx migsec-dpctl stats 2>&1 | head -3 | tr '\n' ' '))"
grep -q '"event":"control_started"' "$R/var/log/migsec/audit.jsonl" 2>/dev/null \
	&& ok "the audit trail is in /var/log/migsec/audit.jsonl (LogsDirectory)" \
	|| fail "no audit file in /var/log/migsec"

# ---- 6. stop: clean exits
sx systemctl stop migsec-dataplane migsec-control
for u in migsec-dataplane migsec-control; do
	# code 1 (CLD_EXITED) once it has run and exited; 0 if it never ran
	st=$(sx systemctl show -p ExecMainCode -p ExecMainStatus --value "$u" | paste -sd/)
	[ "$st" = 1/0 ] && ok "systemctl stop $u: it exited 0" || fail "systemctl stop $u: code/status $st"
done
kill -KILL "$S"; wait "$UPID" 2>/dev/null; UPID= S=
mount -t proc proc "$R/proc"; mount -t tmpfs tmpfs "$R/run"

# ---- 7. purge
t "dpkg --purge" cr dpkg --purge migsec
t "purge removed the binaries, units and their links" sh -c "[ ! -e '$R/usr/sbin/migsec-dataplane' ] &&
	[ ! -e '$R/lib/systemd/system/migsec-dataplane.service' ] &&
	[ ! -L '$R/etc/systemd/system/multi-user.target.wants/migsec-dataplane.service' ]"
