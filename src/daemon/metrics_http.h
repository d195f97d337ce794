/* The daemon's Prometheus endpoint (metrics_http.c): its pools' counters
 * and its containers' runtime metrics in the text exposition format, over
 * HTTP, on a Unix socket (the default: <socket>.metrics) or a TCP address.
 * docs/metrics.md, "Prometheus". */
#ifndef CV_DAEMON_METRICS_HTTP_H
#define CV_DAEMON_METRICS_HTTP_H

#include "server.h"

struct cvd_metrics_http;

/* Start serving, in a thread of its own, as c->metrics says: NULL for
 * "<c->socket>.metrics", "none" for no endpoint, "unix:PATH" or a path,
 * "HOST:PORT" (TCP, e.g. 127.0.0.1:9712). pools (n of them) are read, never
 * changed, and must outlive the endpoint. 0 (*out NULL with "none"), or -1
 * after one error line. */
int cvd_metrics_http_start(struct cvd_metrics_http **out, const struct cvd_config *c,
                           const struct dpool *pools, int n);
/* Stop the thread, close and remove what it made; NULL is fine. */
void cvd_metrics_http_stop(struct cvd_metrics_http *m);
/* What a request (n bytes, the request line and headers) asks: GET or
 * HEAD (*head) of /metrics (a query is ignored), another path, another
 * method. For tests/fuzz/fuzz_metrics_request.c. */
enum cvd_metrics_route { CVD_METRICS_OK, CVD_METRICS_NOT_FOUND, CVD_METRICS_BAD_METHOD };
enum cvd_metrics_route cvd_metrics_http_route(const char *req, size_t n, bool *head);
/* The exposition for pools and the running containers of runtime_dir
 * (malloc'd; NULL when out of memory). For tests and fuzzing. */
char *cvd_metrics_exposition(struct cvd_metrics_http *m);

#endif
