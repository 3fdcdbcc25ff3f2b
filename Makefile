# rumour: `make demo` runs the demo, `make test` every test, `make bench` the benchmarks.
# --locked: Cargo.lock is honoured as committed (a stale lock fails, it is
# never rewritten), in tests as in `make dist`.
CARGO ?= cargo --locked

.PHONY: demo demo-sim test lint dist install-test versions interop python-test node-test c-test polyglot-test faults faults-short hostile hostile-short soak bench bench-agent bench-python bench-node bench-c bench-memberlist bench-memberlist-coldstart golden fuzz notebooks

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
	$(MAKE) hostile-short

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
	cd bindings-python && ../.venv/bin/ruff check python tests benches ../examples/python ../tests/polyglot ../tests/faults ../tests/hostile ../tests/lineproc.py
	cd bindings-python && ../.venv/bin/ruff format --check python tests benches ../examples/python ../tests/polyglot ../tests/faults ../tests/hostile ../tests/lineproc.py
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
# Node.js node in four processes; and the rumour command's agent with a Go
# memberlist node (tests/interop/build.sh, which installs Go and memberlist
# from Debian when root) and a Python node. Needs python-test, node-test
# and c-test to have built the bindings.
polyglot-test:
	$(CARGO) build --release -p rumour-demo --bin polyglot_peer
	$(CARGO) build --release -p rumour-cli
	# Without Go (and not root to install it) build.sh exits 3: the agent's
	# test with a Go node then skips, as `make interop` does.
	sh tests/interop/build.sh $(CURDIR)/target/interop/peer || [ $$? -eq 3 ]
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

# Attacks on one node from this machine (tests/hostile): UDP garbage and
# forged packets, compression bombs, absurd streams, connection churn,
# hostile state writes; each checks the victim keeps answering probes, its
# memory stays bounded and a counter records what it refused.
# `hostile-short` is part of `test`; `hostile` adds the longer attacks.
hostile:
	sh bindings-python/setup-venv.sh
	.venv/bin/python -m pytest -q -s -p no:cacheprovider tests/hostile

hostile-short:
	sh bindings-python/setup-venv.sh
	.venv/bin/python -m pytest -q -s -p no:cacheprovider -m "not full" tests/hostile

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
# idle: the CPU of an idle 100-node cluster, rumour and Go memberlist
# alternating (issue 21; BENCH_RUNS pairs, 3 by default, about 5 minutes).
# cold_start: 500 nodes in one process and 1,000 in 10 processes started at
# once with one seed, each with a thread per node and on shared runtimes,
# the simulator's figure beside (issue 21; BENCH_RUNS, BENCH_PLANS,
# BENCH_SHARED; about 6 minutes).
# Then bench-agent.
bench:
	$(CARGO) bench -p rumour --bench loopback --bench sim_10k --bench paper_check_7 --bench state --bench seeds --bench idle --bench cold_start
	$(MAKE) bench-agent
	$(MAKE) bench-python bench-node bench-c

# The rumour command (issue 19): the agent's idle CPU and VmRSS beside a
# bare node's (the measured member of a 10-node lan() cluster, alternating
# runs), and GET /v1/members per second with 100 members and 4 keep-alive
# clients (about 5 minutes; BENCH_RUNS, BENCH_WINDOW_SECS, BENCH_PART=idle
# or http; JSON in target/bench/agent.json).
bench-agent:
	$(CARGO) bench -p rumour-cli --bench agent

# The Python binding: events per second delivered to async for, blocking
# and callback consumers from a producer in another process (flood.py;
# target/bench/python_events.json), the cost of broadcast(), the CPU of an
# idle 10-node cluster (about 3 min; ONLY=events for the first part).
bench-python:
	sh bindings-python/setup-venv.sh
	.venv/bin/python bindings-python/benches/bench_python.py

# The Node binding: events per second delivered to an async iterator and
# a listener from a producer in another process (bench/flood.mjs;
# target/bench/node_events.json), the cost of broadcast().
bench-node:
	cd bindings-node && npm install --no-audit --no-fund && npm run build
	node bindings-node/bench/bench.mjs

# The C library: events per second to a callback, one event a call against
# a batch a call (rumour_node_start_batched), from flood.py in another
# process (target/bench/c_events.json).
bench-c:
	$(MAKE) -C bindings-c bench

# The same loopback measurements on HashiCorp memberlist (Debian's Go 0.2.2
# packages: golang-go, golang-github-hashicorp-memberlist-dev), for a side
# by side with `make bench`.
bench-memberlist:
	sh core/benches/go/run.sh -nodes 100 -steady 60

# The cold start of the `seeds` benchmark on HashiCorp memberlist: 100
# nodes started in random order over 5 s, the seed last; memberlist does
# not retry, so each node runs a rejoin loop with rumour's backoff (JSON in
# target/bench/memberlist_coldstart.json). The side of `cold_start` (seed
# first, then all at once) is `sh core/benches/go/run.sh coldstart -nodes
# 500 -runs 1 -seed-first -limit 60s`: more than 10 minutes a run here.
bench-memberlist-coldstart:
	sh core/benches/go/run.sh coldstart -nodes 100 -runs 3 -json target/bench/memberlist_coldstart.json

# Re-executes the simulator notebooks (examples/python/notebooks) at full
# size and stamps each with a hash of its inputs; run it after changing a
# notebook, the simulator, proto or wire, and commit the result (the Python
# tests check the stamps). About 3 minutes; N=10,000 needs about 11 GiB.
notebooks:
	sh bindings-python/setup-venv.sh
	.venv/bin/python examples/python/notebooks/refresh.py run

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
