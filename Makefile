# rumour: `make demo` runs the demo, `make test` every test, `make bench` the benchmarks.
# --locked: Cargo.lock is honoured as committed (a stale lock fails, it is
# never rewritten), in tests as in `make dist`.
CARGO ?= cargo --locked

.PHONY: demo demo-sim test lint dist install-test versions interop python-test node-test c-test polyglot-test faults faults-short soak bench bench-python bench-node bench-memberlist bench-memberlist-coldstart golden fuzz

# Five real nodes on loopback, narrated: joins, metadata, a broadcast, a
# crash, a leave, a restart. Finishes by itself in well under a minute.
demo:
	$(CARGO) run --release -p rumour-demo

# The same story for 20 nodes on the deterministic simulator.
demo-sim:
	$(CARGO) run --release -p rumour --example simulated_cluster

# Benchmarks are not tests: `--all-targets` would run them (sim_10k takes
# about a minute and 11 GiB), so the test targets are named.
test: lint
	$(CARGO) test --workspace --lib --tests --examples
	$(CARGO) test --workspace --doc
	$(MAKE) python-test
	$(MAKE) node-test
	$(MAKE) c-test
	$(MAKE) polyglot-test
	$(MAKE) versions
	$(MAKE) install-test
	$(MAKE) faults-short

# Release artefacts in target/dist, from the same sources and the one
# version (dist/dist.sh): the C tarball, the manylinux wheel and sdist, the
# npm platform and main packages, with SIZES and auditwheel.txt.
dist:
	bash dist/dist.sh

# The artefacts installed and used with cargo and rustc off PATH
# (dist/test-install.sh): C with pkg-config and CMake, the wheel in a fresh
# venv, the npm tarballs in a fresh project (about a minute after dist).
install-test: dist
	bash dist/test-install.sh

# One version everywhere: crates, wheel, npm, rumour.pc, rumour_version(),
# rumour.__version__, the Node export, CHANGELOG.md (after the builds).
versions:
	bash .ci/versions

# The Python binding: a venv at .venv (made by bindings-python/setup-venv.sh
# with maturin, pytest, mypy, ruff, numpy, pandas, matplotlib and nbclient),
# the binding built into it, then ruff and pytest (stubs checked by
# stubtest, the package by mypy, the examples and the notebook run).
python-test:
	sh bindings-python/setup-venv.sh
	cd bindings-python && ../.venv/bin/ruff check python tests benches ../examples/python ../tests/polyglot ../tests/faults ../tests/lineproc.py
	cd bindings-python && ../.venv/bin/ruff format --check python tests benches ../examples/python ../tests/polyglot ../tests/faults ../tests/lineproc.py
	cd bindings-python && ../.venv/bin/python -m pytest -q tests

# The Node binding: `npm install` (which builds the addon with napi-rs),
# a rebuild in case the Rust changed, the typings and the TypeScript example
# checked with tsc, then the node:test suite (loopback nodes, child
# processes, the packed tarball installed into a new project, the examples).
node-test:
	cd bindings-node && npm install --no-audit --no-fund
	cd bindings-node && npm run build
	cd bindings-node && npm run typecheck
	cd bindings-node && npm test

# The C library: the API test as built, under valgrind and with ASan; then
# installed into target/c/prefix and the C and C++ examples built against it
# (pkg-config; CMake's find_package when cmake is there). The committed
# header is checked against cbindgen by `cargo test` (bindings-c/tests).
c-test:
	$(MAKE) -C bindings-c test
	rm -rf target/c/prefix
	$(MAKE) -C bindings-c install PREFIX=$(CURDIR)/target/c/prefix
	$(MAKE) -C bindings-c examples PREFIX=$(CURDIR)/target/c/prefix

# One cluster, four languages (tests/polyglot): a Rust, a C, a Python and a
# Node.js node in four processes. Needs python-test, node-test and c-test
# to have built the bindings.
polyglot-test:
	$(CARGO) build --release -p rumour-demo --bin polyglot_peer
	$(MAKE) -C bindings-c all
	mkdir -p target/polyglot
	cc -std=c11 -Wall -Werror -Ibindings-c/include tests/polyglot/peer.c -o target/polyglot/peer_c \
	  -Ltarget/release -lrumour -lpthread -Wl,-rpath,$(CURDIR)/target/release
	.venv/bin/python -m pytest -q -p no:cacheprovider tests/polyglot

# Faults on a real network stack (tests/faults): hosts in network
# namespaces; loss, delay and duplication from tests/faults/shaper.py; a
# partition by splitting the switch; SIGSTOPped, starved and throttled
# nodes; restarts; the replicated map across a partition. Needs root (it
# skips with the reason otherwise), iproute2 and iptables (.ci/setup
# installs them). `faults` runs every scenario (about 12 minutes);
# `faults-short`, part of `test`, the set not marked `full` (about 5).
faults:
	$(CARGO) build --release -p rumour-demo --bin polyglot_peer
	.venv/bin/python -m pytest -q -s -p no:cacheprovider tests/faults

faults-short:
	$(CARGO) build --release -p rumour-demo --bin polyglot_peer
	.venv/bin/python -m pytest -q -s -p no:cacheprovider -m "not full" tests/faults

# 30 minutes, 20 nodes in namespaces, random faults from SOAK_SEED on half
# of them (partitions, pauses, kills and restarts): false failures, missed
# detections, convergence times, memory growth (JSON in target/bench/).
# SOAK_SECONDS shortens it.
soak:
	$(CARGO) build --release -p rumour-demo --bin polyglot_peer
	cd tests/faults && ../../.venv/bin/python soak.py

# rumour and HashiCorp's Go memberlist in one cluster (also part of `test`);
# tests/interop/build.sh installs Go and memberlist from Debian when root.
interop:
	$(CARGO) test -p rumour --test interop -- --nocapture

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings
	$(CARGO) clippy --manifest-path fuzz/Cargo.toml --target-dir target/fuzz-check --all-targets -- -D warnings
	bash .ci/sans-io-guard
	bash .ci/tracked-files

# sim_10k: 10,000 simulated nodes for 60 virtual seconds (PAPER-CHECKS 7).
# Needs about 11 GiB of memory; SIM_NODES=1000 for a quick run.
# state: the replicated map in the simulator (spread, agreement cost,
# partition repair with 100,000 keys).
# seeds: cold start of 100 nodes with the seed last, and two islands of 50
# merging (issue 16; BENCH_RUNS, about 40 s a run).
bench:
	$(CARGO) bench -p rumour --bench loopback --bench sim_10k --bench paper_check_7 --bench state --bench seeds

# The Python binding: events per second to async and blocking consumers,
# the cost of broadcast(), the CPU of an idle 10-node cluster (about 2 min).
bench-python:
	sh bindings-python/setup-venv.sh
	.venv/bin/python bindings-python/benches/bench_python.py

# The Node binding: events per second to a listener and to an async
# iterator, the cost of broadcast().
bench-node:
	cd bindings-node && npm install --no-audit --no-fund && npm run build
	node bindings-node/bench/bench.mjs

# The same loopback measurements on HashiCorp memberlist (Debian's Go 0.2.2
# packages: golang-go, golang-github-hashicorp-memberlist-dev), for a side
# by side with `make bench`.
bench-memberlist:
	sh core/benches/go/run.sh -nodes 100 -steady 60

# The cold start of the `seeds` benchmark on HashiCorp memberlist: 100
# nodes started in random order over 5 s, the seed last; memberlist does
# not retry, so each node runs a rejoin loop with rumour's backoff (JSON in
# target/bench/memberlist_coldstart.json).
bench-memberlist-coldstart:
	sh core/benches/go/run.sh coldstart -nodes 100 -runs 3 -json target/bench/memberlist_coldstart.json

# Re-captures the golden wire vectors from Debian's Go memberlist.
golden:
	bash core/tests/golden/capture.sh

# Every fuzz target for FUZZ_SECS seconds, seeded from the golden vectors
# (see fuzz/README.md; stable Rust, with RUSTC_BOOTSTRAP for cargo fuzz).
FUZZ_SECS ?= 20
fuzz:
	sh fuzz/seed-corpus.sh
	for t in $$($(CARGO) fuzz list); do \
		RUSTC_BOOTSTRAP=1 $(CARGO) fuzz run $$t -- -max_total_time=$(FUZZ_SECS) || exit 1; \
	done
