#!/usr/bin/env bash
# migsec set-up: installs Debian packages, reserves hugepages, builds, and
# runs the demo or the test suites. Idempotent: run it as often as you like.
#
#   scripts/setup.sh deps     install the Debian 12 packages migsec needs
#   scripts/setup.sh build    deps + meson/ninja build (build/, build-asan/, build-tsan/)
#   scripts/setup.sh demo     build + the main job (README command 1);
#                             options after it go to tests/demo.py (--help)
#   scripts/setup.sh test     build + every test suite (README command 2)
#
# Needs root (network namespaces, hugepages, DPDK). As a normal user it
# re-runs itself through sudo.
set -euo pipefail

TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$TOP"

# Every package the project, its tests and its tools use. Debian 12 only.
PACKAGES=(
	# build
	build-essential meson ninja-build pkg-config clang libclang-rt-14-dev
	# llvm-symbolizer: file and line in the sanitizers' reports
	llvm
	# DPDK 22.11 (lib/ipsec, rcu, telemetry, pdump) and its tools
	dpdk dpdk-dev libdpdk-dev dpdk-doc libipsec-mb-dev
	# libraries
	libconfig-dev libcunit1-dev libssl-dev libjansson-dev openssl
	# lab and tests
	iproute2 iputils-ping ethtool iperf3 tcpdump tshark procps kmod
	# load tools, benchmark plots, profiling
	gnuplot-nox linux-perf
	# operations: the Debian package, man pages, systemd units (ops suite)
	debhelper dpkg-dev fakeroot man-db groff-base systemd git
	# the VM demo: QEMU (KVM or TCG) and the assembler of its tiny guest
	qemu-system-x86 nasm
	# libvirt: migsecctl policy, the qemu hook and its suite (two libvirtd, qemu-img)
	libvirt-dev libxml2-dev libvirt-daemon-system libvirt-clients qemu-utils
	python3 python3-scapy python3-cryptography
)

usage() {
	sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'
}

need_root() {
	if [ "$(id -u)" -ne 0 ]; then
		if command -v sudo >/dev/null 2>&1; then
			exec sudo -E "$0" "$@"
		fi
		echo "setup.sh: needs root (network namespaces, hugepages); run it as root or install sudo" >&2
		exit 1
	fi
}

step() { printf '\n== %s\n' "$*"; }

install_deps() {
	local missing=()
	for p in "${PACKAGES[@]}"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
	done
	if [ ${#missing[@]} -eq 0 ]; then
		step "Debian packages: all ${#PACKAGES[@]} present"
		return
	fi
	step "Installing ${#missing[@]} Debian packages: ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -q
	apt-get install -y -q --no-install-recommends "${PACKAGES[@]}"
}

# DPDK runs best on hugepages (and dpdk-dumpcap needs them to attach);
# without them every migsec process falls back to --no-huge and says so.
# reserve_hugepages MODE: "demo" goes on without them; "test" fails, since
# the hostile suite's hugepage-file checks need them (256 free 2 MiB pages:
# a lab's two appliances), unless MIGSEC_ALLOW_SKIPS allows no-hugepages.
reserve_hugepages() {
	local free
	free=$(awk '/HugePages_Free/ {print $2}' /proc/meminfo)
	if [ "${free:-0}" -ge 256 ] && grep -qs hugetlbfs /proc/mounts; then
		step "Hugepages: $free free"
		return
	fi
	step "Reserving 1 GiB of hugepages"
	mkdir -p /dev/hugepages	# dpdk-hugepages.py mounts there; some systems lack the directory
	dpdk-hugepages.py --setup 1G >/dev/null 2>&1 || true
	free=$(awk '/HugePages_Free/ {print $2}' /proc/meminfo)
	if [ "${free:-0}" -ge 256 ] && grep -qs hugetlbfs /proc/mounts; then
		echo "hugepages: $free free"
	elif [ "$1" = demo ]; then
		echo "hugepages: could not reserve them here; migsec will run with --no-huge (dpdk-dumpcap cannot attach then)"
	elif [[ ",${MIGSEC_ALLOW_SKIPS:-}," == *,no-hugepages,* || ",${MIGSEC_ALLOW_SKIPS:-}," == *,all,* ]]; then
		echo "hugepages: only ${free:-0} free 2 MiB pages; MIGSEC_ALLOW_SKIPS allows the hugepage checks to be skipped"
	else
		echo "setup.sh: could not reserve hugepages: ${free:-0} free 2 MiB pages (256 needed), hugetlbfs $(grep -qs hugetlbfs /proc/mounts && echo mounted || echo 'not mounted')." >&2
		echo "  The hostile suite checks the data planes' hugepage files for keys. Reserve them (dpdk-hugepages.py --setup 1G as root)," >&2
		echo "  or run with MIGSEC_ALLOW_SKIPS=no-hugepages to let those checks be skipped (docs/tests.md, \"Skips\")." >&2
		exit 1
	fi
}

# build-asan/ has the fuzz harnesses (which tests/fuzz/meson.build allows with clang only)?
asan_build_ok() {
	meson introspect build-asan --buildoptions 2>/dev/null |
		/usr/bin/python3 -c 'import json, sys; sys.exit(0 if any(o["name"] == "fuzz" and o["value"] is True for o in json.load(sys.stdin)) else 1)' 2>/dev/null
}

build() {
	step "Building (build/)"
	if [ ! -f build/build.ninja ]; then
		meson setup build --buildtype=debugoptimized
	elif ! grep -q 'guest\.bin' build/build.ninja; then
		# configured before nasm was installed: pick up the VM demo's guest
		meson setup --reconfigure build
	fi
	ninja -C build
	step "Building with AddressSanitizer + UndefinedBehaviorSanitizer, clang, fuzz harnesses (build-asan/)"
	if [ -f build-asan/build.ninja ] && ! asan_build_ok; then
		echo "build-asan/ predates the fuzz harnesses (gcc, or -Dfuzz=false): configuring it again"
		rm -rf build-asan
	fi
	if [ ! -f build-asan/build.ninja ]; then
		CC=clang meson setup build-asan --buildtype=debug \
			-Db_sanitize=address,undefined -Db_lundef=false -Dfuzz=true
	fi
	ninja -C build-asan
	step "Building with ThreadSanitizer, clang (build-tsan/)"
	if [ ! -f build-tsan/build.ninja ]; then
		CC=clang meson setup build-tsan --buildtype=debug \
			-Db_sanitize=thread -Db_lundef=false -Dfuzz=false -Dtools=false
	fi
	ninja -C build-tsan
}

# The ThreadSanitizer run (docs/tests.md, "ThreadSanitizer"): the unit tests
# whose workers run on lcores of their own, and one lab with two workers per
# appliance; unit-replay for its two threads on one replay window. Any report
# fails the test that caused it, with both stacks.
TSAN_TESTS=(unit-crypto unit-crypto-openssl unit-crypto-failover unit-faults unit-slow
	unit-live unit-replay it_race)
TSAN_RUN_OPTIONS="halt_on_error=1:exitcode=66:history_size=4:second_deadlock_stack=1"

# A test that could not run a check exits 77 (meson: SKIP) and says why in
# a SKIP[tag] line; the run fails on any skip MIGSEC_ALLOW_SKIPS does not
# allow (tests/lib/skips.py, docs/tests.md "Skips").
suite() {  # suite BUILDDIR MESON-TEST-ARGS...
	local dir=$1
	shift
	meson test -C "$dir" --print-errorlogs "$@"
	/usr/bin/python3 tests/lib/skips.py "$dir"
}

run_tests() {
	step "Unit and control tests under ASan+UBSan"
	ASAN_OPTIONS=detect_leaks=0:abort_on_error=1 \
	UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
		suite build-asan --suite unit --suite control
	step "Threads under ThreadSanitizer: worker-lcore unit tests, a two-worker lab"
	TSAN_OPTIONS=$TSAN_RUN_OPTIONS suite build-tsan "${TSAN_TESTS[@]}"
	step "Fuzzing under ASan+UBSan: each harness ${MIGSEC_FUZZ_SECONDS:-15} s, and its regression inputs"
	suite build-asan --suite fuzz
	step "Soak under ASan+UBSan, LeakSanitizer at exit: ${MIGSEC_SOAK_SECONDS:-45} s of migration cycles"
	suite build-asan --suite soak
	step "All other test suites"
	suite build --num-processes 1 --no-suite soak --no-suite race
}

cmd=${1:-}
case "$cmd" in
deps) need_root "$@"; install_deps ;;
build) need_root "$@"; install_deps; build ;;
demo)
	need_root "$@"; install_deps; reserve_hugepages demo; build
	step "Demo: a QEMU VM live-migrated through two appliances"
	shift
	exec /usr/bin/python3 tests/demo.py "$@"
	;;
test)
	need_root "$@"; install_deps; reserve_hugepages test; build
	run_tests
	;;
-h|--help|help) usage ;;
*) usage >&2; exit 2 ;;
esac
