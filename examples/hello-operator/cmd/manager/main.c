/* Stands in for the operator's manager binary in slipway's example; a Go project would run
 * `go build` in hack/build.sh instead. */
#include <stdio.h>

int main(void) {
    puts("hello-operator manager v0.4.0");
    return 0;
}
