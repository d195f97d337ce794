/* Percentiles and summary statistics of timing samples. */
#include "bench.h"

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

double containerv_bench_percentile(const uint64_t *sorted, size_t n, double p)
{
    if (!sorted || n == 0)
        return 0;
    if (p <= 0)
        return (double)sorted[0];
    if (p >= 100)
        return (double)sorted[n - 1];
    /* rank between 0 and n - 1 (Hyndman and Fan's type 7, as numpy's default) */
    double rank = p / 100.0 * (double)(n - 1);
    size_t lo = (size_t)rank;
    double frac = rank - (double)lo;
    if (lo + 1 >= n)
        return (double)sorted[n - 1];
    return (double)sorted[lo] + frac * ((double)sorted[lo + 1] - (double)sorted[lo]);
}

double cvb_round(double v, int decimals)
{
    /* by hand: the library does not link libm */
    double f = 1;
    for (int i = 0; i < decimals; i++)
        f *= 10;
    double x = v * f;
    if (x > 9e15 || x < -9e15)
        return v;
    return (double)(int64_t)(x + (x >= 0 ? 0.5 : -0.5)) / f;
}

int cvb_stats(struct containerv_bench_result *res)
{
    size_t n = res->n_samples;
    if (n == 0)
        return 0;
    uint64_t *s = malloc(n * sizeof(*s));
    if (!s)
        return -ENOMEM;
    memcpy(s, res->samples_ns, n * sizeof(*s));
    qsort(s, n, sizeof(*s), cmp_u64);
    double sum = 0;
    for (size_t i = 0; i < n; i++)
        sum += (double)s[i];
    res->p50_us = containerv_bench_percentile(s, n, 50) / 1e3;
    res->p90_us = containerv_bench_percentile(s, n, 90) / 1e3;
    res->p99_us = containerv_bench_percentile(s, n, 99) / 1e3;
    res->mean_us = sum / (double)n / 1e3;
    res->min_us = (double)s[0] / 1e3;
    res->max_us = (double)s[n - 1] / 1e3;
    free(s);
    return 0;
}
