# Verification job for a Makefile-driven CI: include it (`include examples/ci/verify.mk`) or
# run it (`make -f examples/ci/verify.mk verify-ci BENCH=bench`). The same steps as
# github-actions.yml and gitlab-ci.yml:
#   1. verify BENCH into RESULTS (a campaign folder: keep it between runs, e.g. as a CI
#      cache, and only instances whose model or property changed run again), writing JUnit
#      XML and, with a baseline, comparing against it;
#   2. write the Markdown job summary;
#   3. the regression gate against BASELINE (the main branch's results), when there is one.
# The job fails (exit status of verify-ci) on the fail policy FAIL_ON or on a regression.

AUTOSPEC ?= autospec
BENCH ?= bench
BACKEND ?= bab
TIMEOUT ?= 60
JOBS ?= 1
RESULTS ?= ci-results
BASELINE ?= baseline-results
FAIL_ON ?= sat,error
JUNIT ?= $(RESULTS)/junit.xml
SUMMARY ?= $(RESULTS)/summary.md

# $(wildcard ...) is evaluated when the recipe runs, so a baseline restored earlier counts.
baseline_flag = $(if $(wildcard $(BASELINE)/campaign.sqlite $(BASELINE)/results.csv),--baseline $(BASELINE))

.PHONY: verify-ci
verify-ci:
	$(AUTOSPEC) --quiet verify $(BENCH) --backend $(BACKEND) --timeout $(TIMEOUT) -j $(JOBS) \
	  -o $(RESULTS) --junit $(JUNIT) --fail-on $(FAIL_ON) $(baseline_flag); \
	  echo $$? > $(RESULTS).exit
	$(AUTOSPEC) report $(RESULTS) --format markdown --fail-on $(FAIL_ON) $(baseline_flag) \
	  > $(SUMMARY)
	$(if $(baseline_flag),$(AUTOSPEC) report diff $(BASELINE) $(RESULTS) --fail-on-regression)
	@code=$$(cat $(RESULTS).exit); rm -f $(RESULTS).exit; \
	  if [ "$$code" != 0 ]; then echo "verify exited $$code (see $(SUMMARY))"; fi; \
	  exit $$code
