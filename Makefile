# abs — make demo | test | bench | build. Each target installs what is missing first.
.PHONY: all deps build build-apps build-asan build-tsan build-fuzz test unit-tests roundtrip-test soak-test soak check check-paths asan-tests tsan-tests fuzz-smoke compat-tests ui-tests package package-test demo bench campaign format clean

BUILD      ?= build
BUILD_ASAN ?= build-asan
BUILD_TSAN ?= build-tsan
JOBS       ?= $(shell nproc)
CMAKE_GEN  := -G Ninja

all: build

deps:
	@bash scripts/install-deps.sh

build: deps
	@cmake -S . -B $(BUILD) $(CMAKE_GEN) -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	@cmake --build $(BUILD) -j $(JOBS)

# What make test needs from the release tree: the three binaries the node tests, the
# browser test and the package run, and the suite of the full-size round trip.
build-apps: deps
	@cmake -S . -B $(BUILD) $(CMAKE_GEN) -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	@cmake --build $(BUILD) -j $(JOBS) --target abs-devcluster absd absctl backup_integration_tests soak_tests

# One clang tree under ASan+UBSan serves both the sanitizer runs of the tests and the
# libFuzzer targets (its code carries libFuzzer's coverage hooks, which cost the tests
# nothing that matters): a second sanitized tree doubled make test's compile time.
build-asan: deps
	@CC=clang CXX=clang++ cmake -S . -B $(BUILD_ASAN) $(CMAKE_GEN) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DABS_FUZZ=ON -DABS_BUILD_BENCH=OFF >/dev/null
	@cmake --build $(BUILD_ASAN) -j $(JOBS) --target unit_tests concurrency_tests client_integration_tests backup_integration_tests service_integration_tests storage_integration_tests abs-devcluster absctl absd fuzz_targets

build-fuzz: build-asan

# ThreadSanitizer cannot share a tree with ASan: a third clang tree, of the suites that start
# threads (the concurrency primitives and the job runner, storage, backup and restore, the
# service) and the binaries they run.
build-tsan: deps
	@CC=clang CXX=clang++ cmake -S . -B $(BUILD_TSAN) $(CMAKE_GEN) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DABS_TSAN=ON -DABS_BUILD_BENCH=OFF >/dev/null
	@cmake --build $(BUILD_TSAN) -j $(JOBS) --target concurrency_tests storage_integration_tests backup_integration_tests service_integration_tests abs-devcluster absctl absd

# Every suite unsanitized (make test runs them all under ASan+UBSan instead).
unit-tests: build
	@cd $(BUILD) && ctest --output-on-failure

# The one test ASan cannot afford at full size: a million records backed up by parallel
# node slices and restored, at release speed.
roundtrip-test: build-apps
	@$(BUILD)/bin/backup_integration_tests --gtest_brief=1 \
	  --gtest_filter='BackupRestoreTest.ParallelNodeSlicesTogetherRestoreEveryRecord'

asan-tests: build-asan
	@ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 $(BUILD_ASAN)/bin/unit_tests --gtest_brief=1
	@ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 $(BUILD_ASAN)/bin/concurrency_tests --gtest_brief=1
	@ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 $(BUILD_ASAN)/bin/client_integration_tests --gtest_brief=1
	@ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 ABS_ROUNDTRIP_RECORDS=50000 $(BUILD_ASAN)/bin/backup_integration_tests --gtest_brief=1
	@ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 $(BUILD_ASAN)/bin/service_integration_tests --gtest_brief=1
	@ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 $(BUILD_ASAN)/bin/storage_integration_tests --gtest_brief=1

# Any data race or lock-order inversion fails the run (halt_on_error).
TSAN_RUN = TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1"
tsan-tests: build-tsan
	@$(TSAN_RUN) $(BUILD_TSAN)/bin/concurrency_tests --gtest_brief=1
	@$(TSAN_RUN) $(BUILD_TSAN)/bin/storage_integration_tests --gtest_brief=1
	@$(TSAN_RUN) ABS_ROUNDTRIP_RECORDS=20000 ABS_CAMPAIGN_RECORDS=10000 $(BUILD_TSAN)/bin/backup_integration_tests --gtest_brief=1
	@$(TSAN_RUN) ABS_CAMPAIGN_RECORDS=10000 $(BUILD_TSAN)/bin/service_integration_tests --gtest_brief=1

# The fast loop for the change at hand (scripts/check.sh): the release tree built
# incrementally, unit and concurrency tests, and the integration suites the change touches.
check: deps
	@bash scripts/check.sh $(BUILD)

# The tests read nothing outside the repository (the unit tests run under strace), and
# every include of src/ points down the layers (scripts/check-layers.sh).
check-paths: build-asan
	@bash scripts/check-layers.sh
	@ASAN_OPTIONS=detect_leaks=0 bash scripts/check-test-paths.sh $(BUILD_ASAN)/bin

# Each fuzz target runs briefly on its seed corpus so a crashing decoder fails the build.
fuzz-smoke: build-asan
	@bash scripts/fuzz-smoke.sh $(BUILD_ASAN)/bin

# The fault soak at CI size (make test), and longer (make soak; SOAK_ROUNDS, SOAK_RECORDS).
soak-test: build-apps
	@$(BUILD)/bin/soak_tests --gtest_brief=1

SOAK_ROUNDS ?= 40
SOAK_RECORDS ?= 50000
soak: build-apps
	@ABS_SOAK_ROUNDS=$(SOAK_ROUNDS) ABS_SOAK_RECORDS=$(SOAK_RECORDS) $(BUILD)/bin/soak_tests

compat-tests: build-apps
	@ABS_BIN=$(BUILD)/bin node --test tests/compat/

# The dashboard in headless chromium; screenshots land in build/artifacts/ui/.
ui-tests: build-apps
	@ABS_BIN=$(BUILD)/bin ABS_ARTIFACTS=$(BUILD)/artifacts/ui node --test tests/ui/

# A .deb of absd and absctl with the default config and the systemd unit (build/package/).
package: build-apps
	@bash scripts/package-deb.sh $(BUILD)

# Builds the .deb, installs it with dpkg, checks the unit, starts absd as the unit does,
# and purges it (needs root or sudo).
package-test: build-apps
	@bash tests/package/package_test.sh $(BUILD)

# Each suite runs once, sanitized; the release tree builds only what the node, browser
# and package tests run, plus the full-size round trip (a second full tree and a second
# run of every suite doubled the time on a 2-core machine).
test: check-paths asan-tests tsan-tests fuzz-smoke roundtrip-test soak-test compat-tests ui-tests package-test

# Only the three binaries the demo runs, and no browser to install.
demo:
	@ABS_DEPS=demo bash scripts/install-deps.sh
	@cmake -S . -B $(BUILD) $(CMAKE_GEN) -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	@cmake --build $(BUILD) -j $(JOBS) --target abs-devcluster absd absctl
	@bash scripts/demo.sh

bench: build
	@bash scripts/bench.sh $(BUILD)/bin

# The crash campaign at full size: absd and absctl each killed with SIGKILL at random
# moments of one backup of 1M records (CAMPAIGN_RECORDS, CAMPAIGN_KILLS override).
CAMPAIGN_RECORDS ?= 1000000
CAMPAIGN_KILLS ?= 25
campaign: build
	@ABS_CAMPAIGN_RECORDS=$(CAMPAIGN_RECORDS) ABS_CAMPAIGN_KILLS=$(CAMPAIGN_KILLS) \
	  $(BUILD)/bin/service_integration_tests --gtest_filter='*KilledAtRandomMoments*'
	@ABS_CAMPAIGN_RECORDS=$(CAMPAIGN_RECORDS) ABS_CAMPAIGN_KILLS=$(CAMPAIGN_KILLS) \
	  $(BUILD)/bin/backup_integration_tests --gtest_filter='*KilledAtRandomMoments*'

format:
	@git ls-files '*.cc' '*.h' | xargs clang-format -i

clean:
	rm -rf $(BUILD) $(BUILD_ASAN) $(BUILD_TSAN)
