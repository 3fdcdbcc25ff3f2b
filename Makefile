# rumour: `make demo` runs the demo, `make test` every test, `make bench` the benchmarks.
CARGO ?= cargo

.PHONY: demo test lint bench golden

# A narrated 20-node cluster on the deterministic simulator.
demo:
	$(CARGO) run --release -p rumour --example simulated_cluster

# Benchmarks are not tests: `--all-targets` would run them (sim_10k needs
# ~20 GiB), so the test targets are named.
test: lint
	$(CARGO) test --workspace --lib --tests --examples
	$(CARGO) test --workspace --doc

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings
	bash .ci/sans-io-guard

# sim_10k: 10,000 simulated nodes for 60 virtual seconds (PAPER-CHECKS 7).
# Needs about 20 GiB of memory today; SIM_NODES=1000 for a quick run.
bench:
	$(CARGO) bench -p rumour --bench sim_10k

# Re-captures the golden wire vectors from Debian's Go memberlist.
golden:
	bash core/tests/golden/capture.sh
