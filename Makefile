# Parity: the two quick-start commands (`make demo`, `make test`) set everything up themselves.
SHELL := /bin/bash
APT_PACKAGES := libhdf5-dev pkg-config zip unzip
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: setup demo test bench html-check

## Installs the system packages Parity builds against (HDF5 for Keras files), if missing.
setup:
	@missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
		echo "Installing:$$missing"; \
		$(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing; \
	fi
	@command -v swift >/dev/null || { echo "swift is not on PATH (Swift 6.x toolchain needed)"; exit 2; }

## Builds the CLI and runs the seed demo.
demo: setup
	swift build --product parity
	.build/debug/parity demo

## Builds and runs the whole test suite (Swift Testing).
test: setup
	swift build --build-tests
	swift test --skip-build --disable-xctest

## Release-build benchmarks side by side with PyTorch (see bench/README.md).
bench: setup
	bash bench/run.sh

## Renders `parity compare --html` reports in headless Chromium (installed with apt-get if missing) and
## checks the screenshots; not part of `make test`. UPDATE_SCREENSHOT=1 refreshes docs/compare-report.png.
html-check: setup
	bash scripts/check_html_report.sh
