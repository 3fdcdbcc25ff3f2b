# rumour: `make test` runs every test; `make bench` the benchmarks.
CARGO ?= cargo

.PHONY: test lint bench golden

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
