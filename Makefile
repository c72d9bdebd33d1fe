# Thin wrapper around meson.  See README.md.
BUILD ?= build
ASAN_BUILD ?= build-asan
MESON ?= meson
PREFIX ?= /usr/local

.PHONY: all deps test test-fast demo bench install clean fuzz

all: $(BUILD)/build.ninja
	ninja -C $(BUILD)

deps:
	@./tools/install-deps

$(BUILD)/build.ninja:
	$(MESON) setup $(BUILD) --prefix=$(PREFIX)

$(ASAN_BUILD)/build.ninja:
	$(MESON) setup $(ASAN_BUILD) -Db_sanitize=address,undefined \
	    -Db_lundef=false -Dbuildtype=debug -Dfuzz=disabled

# Every suite (unit, pipeline, system, fuzz) in the normal build, then unit and
# pipeline again under ASan and UBSan; ends with "N passed, N failed".
test: deps
	@./tools/run-tests $(BUILD) $(ASAN_BUILD)

# Unit and pipeline suites of the normal build only (no root needed).
test-fast: all
	@TS_SUITES="unit pipeline" TS_NO_ASAN=1 ./tools/run-tests $(BUILD) $(ASAN_BUILD)

demo: deps all
	@./tools/demo $(BUILD)

bench: deps all
	@./tools/bench $(BUILD)

install: all
	$(MESON) install -C $(BUILD)

# Longer fuzz runs: make fuzz FUZZ_SECS=600
FUZZ_SECS ?= 60
fuzz: all
	for f in $(BUILD)/tests/fuzz/fuzz-*; do \
	    n=$$(basename $$f); mkdir -p $(BUILD)/fuzz-corpus/$$n; \
	    $$f -max_total_time=$(FUZZ_SECS) $(BUILD)/fuzz-corpus/$$n \
	        $$(test -d tests/fuzz/seeds/$$n && echo tests/fuzz/seeds/$$n) || exit 1; \
	done

clean:
	rm -rf $(BUILD) $(ASAN_BUILD)
