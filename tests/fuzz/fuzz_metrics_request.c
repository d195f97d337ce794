/* The daemon's Prometheus endpoint: the route of an HTTP request from the
 * network (src/daemon/metrics_http.c, cvd_metrics_http_route). */
#include "fuzz.h"

#include "../../src/daemon/metrics_http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    bool head = false;
    enum cvd_metrics_route r = cvd_metrics_http_route((const char *)data, size, &head);
    if (r != CVD_METRICS_OK && r != CVD_METRICS_NOT_FOUND && r != CVD_METRICS_BAD_METHOD)
        __builtin_trap();
    return 0;
}
