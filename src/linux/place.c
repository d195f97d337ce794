/* Where the creator, its new child and the child's helpers run.
 *
 * The scheduler starts a new task on its parent's CPU when the load figures
 * look even, and leaves it queued there while the parent runs. For create
 * that is the worst place: the child, whose steps are the critical path,
 * waited behind its creator's own steps after clone3 (state file, v1
 * cgroups, the control socket: 300-600 µs) while the other CPU idled.
 * Measured on the 2-CPU machines: the child's first instruction came a
 * median 390 µs after clone3 returned (docs/benchmarks.md, "Where the
 * start-up time goes", item 11).
 *
 * So the creator pins itself to the CPU it is on just before clone3; the
 * child inherits the pin, starts there at once, stays there for its whole
 * set-up (a wake-up could otherwise pull it over to the other CPU), and
 * takes the creator's full mask back at its end, before it reports ready
 * (the creator never touches the child's mask, so nothing can undo that).
 * Right after clone3 the creator moves itself to the rest of its mask for
 * its own steps. When it starts to wait for the child's report it pins
 * itself to the child's CPU, so that the report wakes it there rather than
 * on an idle CPU (waking a halted vCPU costs tens of µs), and it takes its
 * full mask back as soon as it has the report, or on any way out. The child's helpers go to the CPUs other than
 * the child's (child.c).
 *
 * All of it is a hint: nothing is done when the thread may run on one CPU
 * only or a call fails, and the creator's mask is put back only while it
 * is still the one this file set (another thread's sched_setaffinity on
 * the creator in between wins). */
#include "linux.h"

#include <sched.h>

static bool set_one(cpu_set_t *set, int cpu)
{
    CPU_ZERO(set);
    CPU_SET(cpu, set);
    return sched_setaffinity(0, sizeof(*set), set) == 0;
}

bool cv_place_pin(struct cv_place *p)
{
    p->on = false;
    if (sched_getaffinity(0, sizeof(p->saved), &p->saved) < 0 || CPU_COUNT(&p->saved) < 2)
        return false;
    int cpu = sched_getcpu();
    if (cpu < 0 || cpu >= CPU_SETSIZE || !CPU_ISSET(cpu, &p->saved) || !set_one(&p->set, cpu))
        return false;
    p->cpu = cpu;
    p->on = true;
    return true;
}

void cv_place_away(struct cv_place *p)
{
    if (!p->on)
        return;
    cpu_set_t rest = p->saved;
    CPU_CLR(p->cpu, &rest);
    if (sched_setaffinity(0, sizeof(rest), &rest) == 0)
        p->set = rest;
}

void cv_place_join(struct cv_place *p)
{
    cpu_set_t one;
    if (p->on && set_one(&one, p->cpu))
        p->set = one;
}

void cv_place_restore(struct cv_place *p)
{
    if (!p->on)
        return;
    p->on = false;
    cpu_set_t now;
    if (sched_getaffinity(0, sizeof(now), &now) == 0 && CPU_EQUAL(&now, &p->set))
        sched_setaffinity(0, sizeof(p->saved), &p->saved);
}
