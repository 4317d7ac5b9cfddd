#!/bin/sh
# The example's tests: builds the manager for this machine and checks what it prints. With `e2e`
# it also shows the Kubernetes version and skip regex slipway gives a matrix run. The JUnit file
# goes to $ARTIFACTS, where slipway (or Prow) collects it.
set -eu
mkdir -p out/test "${ARTIFACTS:-out/test}"
gcc -O2 -o out/test/manager cmd/manager/main.c
output=$(out/test/manager)
echo "manager says: $output"
if [ "${1:-}" = e2e ]; then
  echo "e2e against Kubernetes ${KUBERNETES_VERSION:-unknown}, skipping '${SKIP_REGEX:-}'"
fi
case "$output" in
  "hello-operator manager v"*) result='' ;;
  *) result='<failure message="unexpected output"/>' ;;
esac
cat > "${ARTIFACTS:-out/test}/junit_unit.xml" <<XML
<testsuite name="hello-operator" tests="1" failures="$([ -n "$result" ] && echo 1 || echo 0)">
  <testcase classname="manager" name="prints its version">$result</testcase>
</testsuite>
XML
[ -z "$result" ]
