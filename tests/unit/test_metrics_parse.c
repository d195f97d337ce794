/* The runtime metrics' readers and rates (src/metrics), on files of both
 * cgroup versions whatever the host runs: each cgroup file is a memfd
 * holding what the kernel writes there, put where the source keeps its
 * fd. Then the rates (a counter that goes backwards gives no rate), a
 * cgroup removed under an open file (the series ends), and the perf events
 * on a cgroup v2 directory where the host has one. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "metrics/cvm.h"

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>

#define BIT(m) CONTAINERV_METRIC_BIT(CONTAINERV_METRIC_##m)

static int file_with(const char *text)
{
    int fd = memfd_create("cvm", MFD_CLOEXEC);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    return fd;
}

static struct cvm_src src_of(int version)
{
    struct cvm_src s;
    cvm_src_init(&s);
    s.cgroup_version = version;
    s.groups = CONTAINERV_GROUP_ALL;
    s.host_memory = 8ull << 30;
    s.clk_tck = 100;
    s.pidfd = (int)syscall(SYS_pidfd_open, getpid(), 0); /* alive */
    assert_true(s.pidfd >= 0);
    return s;
}

static void test_v2_files(void **state)
{
    (void)state;
    struct cvm_src s = src_of(2);
    s.fd[CVM_CPU_STAT] = file_with("usage_usec 1500000\nuser_usec 1000000\nsystem_usec 500000\n"
                                   "nr_periods 10\nnr_throttled 3\nthrottled_usec 250000\n");
    s.fd[CVM_MEM_CURRENT] = file_with("10485760\n");
    s.fd[CVM_MEM_STAT] = file_with("anon 4194304\nfile 6291456\nkernel 0\nactive_file 4194304\n"
                                   "inactive_file 2097152\nworkingset_refault_anon 3\nworkingset_refault_file 77\n"
                                   "pgfault 1234\npgmajfault 5\n");
    s.fd[CVM_MEM_MAX] = file_with("max\n");
    s.fd[CVM_IO_OPS] = file_with("8:0 rbytes=4096 wbytes=8192 rios=1 wios=2 dbytes=0 dios=0\n"
                                 "259:0 rbytes=4096 wbytes=0 rios=1 wios=0 dbytes=0 dios=0\n");
    s.fd[CVM_PIDS] = file_with("3\n");
    s.fd[CVM_PSI_CPU] = file_with("some avg10=1.50 avg60=0.00 avg300=0.00 total=12345\n"
                                  "full avg10=0.00 avg60=0.00 avg300=0.00 total=0\n");
    s.fd[CVM_PSI_MEM] = file_with("some avg10=0.25 avg60=0.00 avg300=0.00 total=7\n"
                                  "full avg10=0.10 avg60=0.00 avg300=0.00 total=3\n");
    struct containerv_runtime_metrics m = {0};
    int gone = 0;
    cvm_cg_read(&s, &m, &gone);
    assert_int_equal(gone, 0);
    assert_int_equal(m.cpu_usage_ns, 1500000000ull);
    assert_int_equal(m.cpu_user_ns, 1000000000ull);
    assert_int_equal(m.cpu_system_ns, 500000000ull);
    assert_int_equal(m.cpu_throttled_periods, 3);
    assert_int_equal(m.cpu_throttled_ns, 250000000ull);
    assert_int_equal(m.memory_charged_bytes, 10485760);
    assert_int_equal(m.memory_usage_bytes, 10485760 - 2097152); /* minus inactive_file */
    assert_int_equal(m.memory_limit_bytes, 8ull << 30);         /* "max": the host's */
    assert_true(m.memory_utilization_percent == 100.0 * 8388608 / (8.0 * 1073741824));
    assert_int_equal(m.page_faults, 1234);
    assert_int_equal(m.major_page_faults, 5);
    assert_int_equal(m.cache_source, CONTAINERV_CACHE_REFAULTS);
    assert_int_equal(m.memory_cache_misses, 77); /* file refaults, not anon */
    assert_false(m.available & BIT(MEMORY_CACHE_HITS));
    assert_int_equal(m.io_read_ops, 2);
    assert_int_equal(m.io_write_ops, 2);
    assert_int_equal(m.io_read_bytes, 8192);
    assert_int_equal(m.io_write_bytes, 8192);
    assert_int_equal(m.tasks, 3);
    assert_true(m.available & BIT(CPU_PRESSURE));
    assert_true(m.cpu_pressure_some_avg10 == 1.5);
    assert_int_equal(m.cpu_pressure_some_us, 12345);
    assert_true(m.available & BIT(MEMORY_PRESSURE));
    assert_true(m.memory_pressure_full_avg10 == 0.10);
    assert_int_equal(m.memory_pressure_full_us, 3);
    assert_false(m.available & BIT(IO_PRESSURE)); /* no io.pressure: unavailable, not 0 */
    cvm_src_close(&s);
}

static void test_v2_limit(void **state)
{
    (void)state;
    struct cvm_src s = src_of(2);
    s.fd[CVM_MEM_CURRENT] = file_with("33554432\n");
    s.fd[CVM_MEM_STAT] = file_with("inactive_file 0\n");
    s.fd[CVM_MEM_MAX] = file_with("134217728\n");
    struct containerv_runtime_metrics m = {0};
    int gone = 0;
    cvm_cg_read(&s, &m, &gone);
    assert_int_equal(m.memory_limit_bytes, 134217728);
    assert_true(m.memory_utilization_percent == 25.0);
    /* no cpu.stat, io.stat, pids: nothing claimed */
    assert_false(m.available & (BIT(CPU_USAGE_NS) | BIT(IO_READ_OPS) | BIT(TASKS) | BIT(PAGE_FAULTS)));
    cvm_src_close(&s);
}

static void test_v1_files(void **state)
{
    (void)state;
    struct cvm_src s = src_of(1);
    s.fd[CVM_CPUACCT_USAGE] = file_with("123456789\n");
    s.fd[CVM_CPUACCT_STAT] = file_with("user 10\nsystem 5\n");
    s.fd[CVM_CPU_STAT] = file_with("nr_periods 4\nnr_throttled 2\nthrottled_time 1000000\nnr_bursts 0\nburst_time 0\n");
    s.fd[CVM_MEM_CURRENT] = file_with("8388608\n");
    s.fd[CVM_MEM_STAT] = file_with("cache 1\npgfault 1\npgmajfault 1\ninactive_file 1\nworkingset_refault_file 1\n"
                                   "total_cache 4096\ntotal_workingset_refault_file 9\ntotal_pgfault 500\n"
                                   "total_pgmajfault 6\ntotal_inactive_file 4194304\n");
    s.fd[CVM_MEM_MAX] = file_with("9223372036854771712\n");
    s.fd[CVM_IO_OPS] = file_with("8:0 Read 3\n8:0 Write 4\n8:0 Sync 7\n8:0 Async 0\n8:0 Discard 0\n8:0 Total 7\n"
                                 "8:16 Read 1\n8:16 Write 0\n8:16 Total 1\nTotal 8\n");
    s.fd[CVM_IO_BYTES] = file_with("8:0 Read 12288\n8:0 Write 16384\n8:0 Total 28672\nTotal 28672\n");
    struct containerv_runtime_metrics m = {0};
    int gone = 0;
    cvm_cg_read(&s, &m, &gone);
    assert_int_equal(m.cpu_usage_ns, 123456789);
    assert_int_equal(m.cpu_user_ns, 100000000); /* 10 ticks of 10 ms */
    assert_int_equal(m.cpu_system_ns, 50000000);
    assert_int_equal(m.cpu_throttled_periods, 2);
    assert_int_equal(m.cpu_throttled_ns, 1000000);
    assert_int_equal(m.page_faults, 500); /* the hierarchy's (total_), not the cgroup's own */
    assert_int_equal(m.major_page_faults, 6);
    assert_int_equal(m.memory_cache_misses, 9);
    assert_int_equal(m.memory_usage_bytes, 8388608 - 4194304);
    assert_int_equal(m.memory_limit_bytes, 8ull << 30); /* no limit: the host's */
    assert_int_equal(m.io_read_ops, 4);
    assert_int_equal(m.io_write_ops, 4);
    assert_int_equal(m.io_read_bytes, 12288);
    assert_int_equal(m.io_write_bytes, 16384);
    assert_false(m.available & (BIT(CPU_PRESSURE) | BIT(MEMORY_PRESSURE) | BIT(IO_PRESSURE)));
    cvm_src_close(&s);
}

static void test_key_parser(void **state)
{
    (void)state;
    uint64_t v = 0;
    assert_true(cvm_key_u64("total_pgfault 5\npgfault 7\n", "pgfault", &v));
    assert_int_equal(v, 7);
    assert_false(cvm_key_u64("pgfault_x 5\n", "pgfault", &v));
    assert_true(cvm_key_u64("a 1\nvoluntary_ctxt_switches:\t42\nnonvoluntary_ctxt_switches:\t3\n",
                            "voluntary_ctxt_switches", &v));
    assert_int_equal(v, 42);
    assert_false(cvm_key_u64("usage_usec max\n", "usage_usec", &v));
    assert_false(cvm_key_u64("", "x", &v));
}

static struct containerv_runtime_metrics at(uint64_t t_ns, uint64_t avail)
{
    struct containerv_runtime_metrics m = {0};
    m.timestamp_ns = t_ns;
    m.available = avail;
    return m;
}

static void test_rates(void **state)
{
    (void)state;
    uint64_t all = BIT(CPU_USAGE_NS) | BIT(PAGE_FAULTS) | BIT(IO_READ_OPS) | BIT(IO_WRITE_OPS) |
                   BIT(NETWORK_RX_PACKETS) | BIT(NETWORK_TX_PACKETS) | BIT(CPU_CONTEXT_SWITCHES) |
                   BIT(MEMORY_CACHE_MISSES);
    struct containerv_runtime_metrics p = at(1000000000, all), c = at(3000000000, all);
    p.cpu_usage_ns = 1000000000, c.cpu_usage_ns = 2000000000; /* 1 s of CPU in 2 s */
    p.page_faults = 100, c.page_faults = 300;
    p.io_read_ops = 10, c.io_read_ops = 15;                     /* 2.5/s: rounds to 3 */
    p.network_rx_packets = 5, c.network_rx_packets = 105;
    p.network_tx_packets = 5, c.network_tx_packets = 105;
    p.io_write_ops = 50, c.io_write_ops = 40;                   /* went backwards */
    p.cache_source = c.cache_source = CONTAINERV_CACHE_REFAULTS;
    p.memory_cache_misses = 0, c.memory_cache_misses = 20;
    p.context_switch_source = c.context_switch_source = CONTAINERV_SWITCHES_PERF;
    p.cpu_context_switches = 1000, c.cpu_context_switches = 1600;
    cvm_rates(&p, &c, NULL);
    assert_int_equal(c.interval_ns, 2000000000ull);
    assert_true(c.available & BIT(CPU_UTILIZATION_PERCENT));
    assert_true(c.cpu_utilization_percent == 50.0);
    assert_int_equal(c.page_faults_per_sec, 100);
    assert_int_equal(c.io_read_ops_per_sec, 3);
    assert_int_equal(c.network_packets_per_sec, 100);
    assert_false(c.available & BIT(IO_WRITE_OPS_PER_SEC)); /* a reset or wrap: no rate, no made-up one */
    assert_int_equal(c.io_write_ops_per_sec, 0);
    assert_true(c.memory_cache_misses_per_sec == 10.0);
    assert_true(c.cpu_context_switches_per_sec == 300.0);
    /* a field missing from the previous sample: no rate */
    struct containerv_runtime_metrics p2 = at(1000000000, 0), c2 = at(2000000000, all);
    c2.page_faults = 5;
    cvm_rates(&p2, &c2, NULL);
    assert_false(c2.available & BIT(PAGE_FAULTS_PER_SEC));
    /* the first sample: no interval, no rate */
    struct containerv_runtime_metrics c3 = at(5, all);
    cvm_rates(NULL, &c3, NULL);
    assert_int_equal(c3.interval_ns, 0);
    assert_false(c3.available & BIT(CPU_UTILIZATION_PERCENT));
    /* threads: the rate is the per-thread growth the source measured */
    struct containerv_runtime_metrics p4 = at(0, all), c4 = at(500000000, all);
    p4.context_switch_source = c4.context_switch_source = CONTAINERV_SWITCHES_THREADS;
    p4.cpu_context_switches = 900, c4.cpu_context_switches = 100; /* a busy thread exited */
    struct cvm_extra x = {.switches_delta_ok = true, .switches_delta = 50};
    cvm_rates(&p4, &c4, &x);
    assert_true(c4.cpu_context_switches_per_sec == 100.0);
}

/* A cgroup removed under an open file: its reads fail, the sample says
 * the container is gone. A cgroup of our own in whichever hierarchy has
 * cpuacct (v1) or the v2 root. */
static void test_cgroup_vanishes(void **state)
{
    (void)state;
    char dir[256], file[300];
    struct statfs sfs;
    bool v2 = statfs("/sys/fs/cgroup", &sfs) == 0 && sfs.f_type == 0x63677270;
    snprintf(dir, sizeof(dir), v2 ? "/sys/fs/cgroup/cvm-unit-%d" : "/sys/fs/cgroup/cpuacct/cvm-unit-%d",
             (int)getpid());
    if (mkdir(dir, 0755) < 0) {
        print_message("skipped: mkdir %s: %s\n", dir, strerror(errno));
        skip();
    }
    snprintf(file, sizeof(file), "%s/%s", dir, v2 ? "cpu.stat" : "cpuacct.usage");
    struct cvm_src s = src_of(v2 ? 2 : 1);
    s.fd[v2 ? CVM_CPU_STAT : CVM_CPUACCT_USAGE] = open(file, O_RDONLY | O_CLOEXEC);
    assert_true(s.fd[v2 ? CVM_CPU_STAT : CVM_CPUACCT_USAGE] >= 0);
    struct containerv_runtime_metrics m;
    struct cvm_extra x;
    assert_int_equal(cvm_sample(&s, &m, &x), 0);
    assert_true(m.available & BIT(CPU_USAGE_NS));
    assert_int_equal(rmdir(dir), 0);
    assert_int_equal(cvm_sample(&s, &m, &x), -ESRCH);
    assert_false(m.available & BIT(CPU_USAGE_NS));
    cvm_src_close(&s);
    for (int i = 0; i < CVM_FILE_COUNT; i++)
        assert_int_equal(s.fd[i], -1);
}

/* Perf events on a cgroup v2 directory (the unified mount of a hybrid host,
 * or the v2 root): a child in it makes N voluntary switches, all counted. */
static void test_perf_switches(void **state)
{
    (void)state;
    const char *base = NULL;
    struct statfs sfs;
    if (statfs("/sys/fs/cgroup", &sfs) == 0 && sfs.f_type == 0x63677270)
        base = "/sys/fs/cgroup";
    else if (statfs("/sys/fs/cgroup/unified", &sfs) == 0 && sfs.f_type == 0x63677270)
        base = "/sys/fs/cgroup/unified";
    if (!base)
        skip();
    char dir[256], procs[300];
    snprintf(dir, sizeof(dir), "%s/cvm-perf-%d", base, (int)getpid());
    if (mkdir(dir, 0755) < 0)
        skip();
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    assert_true(dfd >= 0);
    struct cvm_perf p;
    cvm_perf_open(&p, dfd, true, true);
    close(dfd);
    if (!p.switches) {
        rmdir(dir);
        print_message("skipped: no perf events on %s\n", dir);
        skip();
    }
    print_message("perf on %s: switches yes, hardware cache %s\n", dir, p.cache ? "yes" : "no (no PMU)");
    int go[2];
    assert_int_equal(pipe(go), 0);
    snprintf(procs, sizeof(procs), "%s/cgroup.procs", dir);
    pid_t kid = fork();
    if (kid == 0) {
        char c;
        if (cv_write_file_at(AT_FDCWD, procs, "0", 1) < 0 || read(go[0], &c, 1) != 1)
            _exit(1);
        for (int i = 0; i < 300; i++) {
            struct timespec ts = {0, 20000};
            nanosleep(&ts, NULL);
        }
        _exit(0);
    }
    close(go[0]);
    struct containerv_runtime_metrics a = {0}, b = {0};
    cvm_perf_read(&p, &a);
    assert_int_equal(write(go[1], "x", 1), 1);
    int st;
    assert_int_equal(waitpid(kid, &st, 0), kid);
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    cvm_perf_read(&p, &b);
    assert_int_equal(b.context_switch_source, CONTAINERV_SWITCHES_PERF);
    uint64_t d = b.cpu_context_switches - a.cpu_context_switches;
    print_message("perf: %llu switches counted for 300 sleeps (the process exited: still counted)\n",
                  (unsigned long long)d);
    assert_true(d >= 300 && d <= 300 * 2 + 200);
    cvm_perf_close(&p);
    close(go[1]);
    assert_int_equal(rmdir(dir), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_v2_files),     cmocka_unit_test(test_v2_limit),
        cmocka_unit_test(test_v1_files),     cmocka_unit_test(test_key_parser),
        cmocka_unit_test(test_rates),        cmocka_unit_test(test_cgroup_vanishes),
        cmocka_unit_test(test_perf_switches),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
