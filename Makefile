# rumour: `make demo` runs the demo, `make test` every test, `make bench` the benchmarks.
CARGO ?= cargo

.PHONY: demo test lint bench golden

# A narrated 20-node cluster on the deterministic simulator.
demo:
	$(CARGO) run --release -p rumour --example simulated_cluster

test: lint
	$(CARGO) test --workspace --all-targets
	$(CARGO) test --workspace --doc

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings
	bash .ci/sans-io-guard

bench:
	$(CARGO) bench -p rumour

# Re-captures the golden wire vectors from Debian's Go memberlist.
golden:
	bash core/tests/golden/capture.sh
