/* Raw system calls, for the child's helpers (see cv_helper in linux.h): a
 * helper shares the child's memory and TLS, so it must not touch errno or
 * call into glibc. Each returns the kernel's value: >= 0, or -errno. Where
 * they are not written for the architecture (CV_RAW_SYSCALL undefined), the
 * fallback goes through glibc and is only ever used inline, by the child
 * itself. */
#ifndef CV_RAWSYS_H
#define CV_RAWSYS_H

#include <errno.h>
#include <sys/syscall.h>
#include <unistd.h>

#if defined(__x86_64__)
#define CV_RAW_SYSCALL 1
static inline long cv_raw6(long n, long a, long b, long c, long d, long e, long f)
{
    long ret;
    register long r10 __asm__("r10") = d;
    register long r8 __asm__("r8") = e;
    register long r9 __asm__("r9") = f;
    __asm__ volatile("syscall"
                     : "=a"(ret)
                     : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8), "r"(r9)
                     : "rcx", "r11", "memory");
    return ret;
}
#elif defined(__aarch64__)
#define CV_RAW_SYSCALL 1
static inline long cv_raw6(long n, long a, long b, long c, long d, long e, long f)
{
    register long x8 __asm__("x8") = n;
    register long x0 __asm__("x0") = a;
    register long x1 __asm__("x1") = b;
    register long x2 __asm__("x2") = c;
    register long x3 __asm__("x3") = d;
    register long x4 __asm__("x4") = e;
    register long x5 __asm__("x5") = f;
    __asm__ volatile("svc 0" : "+r"(x0) : "r"(x8), "r"(x1), "r"(x2), "r"(x3), "r"(x4), "r"(x5) : "memory", "cc");
    return x0;
}
#else
static inline long cv_raw6(long n, long a, long b, long c, long d, long e, long f)
{
    long r = syscall(n, a, b, c, d, e, f);
    return r < 0 ? -errno : r;
}
#endif

#define cv_raw3(n, a, b, c) cv_raw6((n), (long)(a), (long)(b), (long)(c), 0, 0, 0)
#define cv_raw5(n, a, b, c, d, e) cv_raw6((n), (long)(a), (long)(b), (long)(c), (long)(d), (long)(e), 0)

#endif
