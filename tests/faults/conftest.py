"""`make test` runs the short set (`-m "not full"`); `make faults` runs all."""


def pytest_configure(config) -> None:
    config.addinivalue_line("markers", "full: a longer scenario, run by `make faults` only")
