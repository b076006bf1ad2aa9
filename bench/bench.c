/*
 * reaper's benchmark: reaper against tini-static, dumb-init and catatonit, side by side,
 * in one interleaved run. Built and started by bench/run; what each figure means is in
 * doc/performance.md.
 *
 * One binary, two roles:
 *   bench [OPTIONS]          the driver (root): starts each init in a PID namespace of its
 *                            own, measures it from outside, prints the tables;
 *   bench app MODE [N]       the application the init runs (idle, storm, backlog);
 *   bench launcher ...       PID 1 of a namespace in which the start-up of each init is
 *                            timed when it is NOT PID 1 (no init ever runs as a subreaper
 *                            outside a PID namespace: a teardown that signals -1 can
 *                            reach only the namespace).
 *
 * Every namespace is made like `unshare --pid --fork --mount-proc` does (a new PID and
 * mount namespace, / made private, a fresh /proc), but by clone(2) from the driver itself,
 * so the init is the driver's own child: its CPU clock, /proc entry and exit are read
 * directly, and PR_SET_PDEATHSIG kills the namespace if the driver dies. Every wait has a
 * deadline; on a deadline the init is killed by pid, which ends its whole namespace.
 *
 * Driver <-> app: fd 3 (app writes) and fd 4 (app reads), fixed 32-byte messages. All
 * inits pass inherited descriptors through untouched.
 *
 * It is a benchmark, not a test: it prints and never judges. It exits non-zero only when
 * a measurement could not run at all.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <dirent.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_INITS 16
#define APP_OUT 3 /* the app writes here */
#define APP_IN 4  /* the app reads here */

static const char *self_exe;
static char *const clean_env[] = {"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                                  NULL};

/* ---------------------------------------------------------------- small utilities */

static int64_t now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000000000LL + t.tv_nsec;
}

static void sleep_ns(int64_t ns) {
    struct timespec t = {ns / 1000000000LL, ns % 1000000000LL};
    while (nanosleep(&t, &t) != 0 && errno == EINTR) {
    }
}

static void die(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "bench: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
    exit(1);
}

static void note(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "bench: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
}

struct msg {
    int32_t tag;
    int32_t n;
    int64_t a, b, c;
};

static int send_msg(int fd, int tag, int n, int64_t a, int64_t b, int64_t c) {
    struct msg m = {tag, n, a, b, c};
    ssize_t w;
    do {
        w = write(fd, &m, sizeof m);
    } while (w < 0 && errno == EINTR);
    return w == (ssize_t)sizeof m ? 0 : -1;
}

/* 0 on a message, -1 on timeout, EOF or error. */
static int recv_msg(int fd, struct msg *m, int64_t timeout_ns) {
    int64_t deadline = now_ns() + timeout_ns;
    size_t got = 0;
    while (got < sizeof *m) {
        int64_t left = deadline - now_ns();
        if (left <= 0)
            return -1;
        struct pollfd p = {fd, POLLIN, 0};
        int r = poll(&p, 1, (int)(left / 1000000 + 1));
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return -1;
        ssize_t n = read(fd, (char *)m + got, sizeof *m - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        got += (size_t)n;
    }
    return 0;
}

/* ---------------------------------------------------------------- the app (inside) */

static void on_usr1(int sig) {
    (void)sig;
    int64_t t = now_ns();
    int saved = errno;
    send_msg(APP_OUT, 'S', 0, t, 0, 0);
    errno = saved;
}

/* Blocks until the driver says 'X' or goes away. */
static void app_wait_exit(void) {
    struct msg m;
    for (;;) {
        ssize_t n = read(APP_IN, &m, sizeof m);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0 || m.tag == 'X')
            return;
    }
}

static int app_wait_go(void) {
    struct msg m;
    for (;;) {
        ssize_t n = read(APP_IN, &m, sizeof m);
        if (n < 0 && errno == EINTR)
            continue;
        if (n == (ssize_t)sizeof m && m.tag == 'G')
            return 0;
        if (n <= 0)
            return -1;
    }
}

/* Waits until `pid` is reaped (or was already). A pidfd polled for no event wakes with
 * POLLHUP exactly when the process is released by its parent (Linux 6.9 and later); older
 * kernels fall back to probing with kill(pid, 0), which succeeds on a zombie. Either way
 * the app sleeps rather than spinning beside the init on a small machine. */
static int wait_reaped(pid_t pid, int64_t deadline) {
    int fd = (int)syscall(SYS_pidfd_open, pid, 0);
    if (fd < 0 && errno == ESRCH)
        return 0;
    while (fd >= 0) {
        int64_t left = deadline - now_ns();
        if (left <= 0) {
            close(fd);
            return -1;
        }
        struct pollfd p = {fd, 0, 0};
        int r = poll(&p, 1, (int)(left / 1000000 + 1));
        if (r > 0 && (p.revents & POLLHUP)) {
            close(fd);
            return 0;
        }
        if (r < 0 && errno != EINTR) {
            close(fd);
            break; /* fall back to probing */
        }
        if (r > 0) { /* a kernel without POLLHUP on reap: probe */
            close(fd);
            break;
        }
    }
    while (kill(pid, 0) == 0) {
        if (now_ns() > deadline)
            return -1;
        sleep_ns(50000);
    }
    return 0;
}

/* Waits until every pid in `pids`, then every process of the namespace but PID 1 and us,
 * is gone. Once the helper has stopped forking no pid is reused, so a pid that is still
 * there belongs to a process that still has to be reaped. Returns the time the last one
 * was seen gone, or -1 at the deadline. */
static int64_t app_wait_all_reaped(const pid_t *pids, int n, int from_last, int64_t deadline) {
    /* A backlog is reaped in fork order (the kernel keeps the children list in order and
     * waitpid(-1) takes the first zombie), so its last pid goes last: one wake-up. */
    if (from_last && n > 0 && wait_reaped(pids[n - 1], deadline) != 0)
        return -1;
    for (int i = 0; i < n; i++)
        if (pids[i] > 0 && wait_reaped(pids[i], deadline) != 0)
            return -1;
    /* kill(-1, 0) reaches every process of the namespace but PID 1 and the caller:
     * ESRCH means not a zombie is left. */
    while (kill(-1, 0) == 0) {
        if (now_ns() > deadline)
            return -1;
        sleep_ns(50000);
    }
    return now_ns();
}

static pid_t fork_retry(void) {
    for (int tries = 0; tries < 2000; tries++) {
        pid_t p = fork();
        if (p >= 0 || errno != EAGAIN)
            return p;
        sleep_ns(1000000);
    }
    return -1;
}

/* storm: a spawner forks N children; each forks a grandchild and exits at once, so every
 * grandchild is orphaned and reparented to PID 1, and exits (at once too). */
static void app_storm(int n) {
    pid_t *pids = mmap(NULL, sizeof(pid_t) * (size_t)(n + 1), PROT_READ | PROT_WRITE,
                       MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (pids == MAP_FAILED)
        _exit(70);
    send_msg(APP_OUT, 'R', getpid(), 0, 0, 0);
    if (app_wait_go() != 0)
        _exit(71);
    int64_t t0 = now_ns();
    pid_t spawner = fork();
    if (spawner == 0) {
        for (int i = 0; i < n; i++) {
            pid_t c = fork_retry();
            if (c == 0) {
                pid_t g = fork_retry();
                if (g == 0)
                    _exit(0);
                pids[i] = g;
                _exit(0);
            }
            if (c < 0)
                _exit(72);
            while (waitpid(c, NULL, 0) < 0 && errno == EINTR) {
            }
        }
        _exit(0);
    }
    int st = 0;
    while (spawner > 0 && waitpid(spawner, &st, 0) < 0 && errno == EINTR) {
    }
    int64_t spawned = now_ns();
    int ok = spawner > 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0;
    int64_t t1 = ok ? app_wait_all_reaped(pids, n, 0, now_ns() + 120000000000LL) : -1;
    send_msg(APP_OUT, 'D', ok && t1 > 0 ? n : -1, t0, spawned, t1);
    app_wait_exit();
}

static char proc_state(pid_t pid) {
    char path[64], buf[512];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0)
        return 0;
    buf[n] = 0;
    char *close_paren = strrchr(buf, ')');
    return close_paren && close_paren[1] == ' ' ? close_paren[2] : 0;
}

/* backlog: with the init stopped (the driver SIGSTOPs it before 'G'), a spawner forks N
 * children that exit at once, waits with WNOWAIT until each is a zombie (so none is
 * reaped and nothing is read in /proc, whose entries would cost the reaper a dentry flush
 * each), and exits: N zombies are reparented to the stopped init. The driver SIGCONTs it. */
static void app_backlog(int n) {
    pid_t *pids = mmap(NULL, sizeof(pid_t) * (size_t)(n + 1), PROT_READ | PROT_WRITE,
                       MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (pids == MAP_FAILED)
        _exit(70);
    send_msg(APP_OUT, 'R', getpid(), 0, 0, 0);
    if (app_wait_go() != 0)
        _exit(71);
    pid_t spawner = fork();
    if (spawner == 0) {
        for (int i = 0; i < n; i++) {
            pid_t c = fork_retry();
            if (c == 0)
                _exit(0);
            if (c < 0)
                _exit(73);
            pids[i] = c;
        }
        for (int i = 0; i < n; i++) {
            siginfo_t info;
            while (waitid(P_PID, (id_t)pids[i], &info, WEXITED | WNOWAIT) != 0) {
                if (errno != EINTR)
                    _exit(74);
            }
        }
        _exit(0);
    }
    int st = 0;
    while (spawner > 0 && waitpid(spawner, &st, 0) < 0 && errno == EINTR) {
    }
    int ok = spawner > 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0;
    send_msg(APP_OUT, 'P', ok ? n : -1, WIFEXITED(st) ? WEXITSTATUS(st) : -1, 0, 0);
    int64_t t1 = ok ? app_wait_all_reaped(pids, n, 1, now_ns() + 120000000000LL) : -1;
    send_msg(APP_OUT, 'D', ok && t1 > 0 ? n : -1, 0, 0, t1);
    app_wait_exit();
}

static int app_main(int argc, char **argv) {
    if (argc < 1)
        return 64;
    prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_usr1;
    sa.sa_flags = SA_RESTART;
    sigaction(SIGUSR1, &sa, NULL);
    int n = argc > 1 ? atoi(argv[1]) : 0;
    if (strcmp(argv[0], "idle") == 0) {
        send_msg(APP_OUT, 'R', getpid(), 0, 0, 0);
        app_wait_exit();
    } else if (strcmp(argv[0], "storm") == 0) {
        app_storm(n);
    } else if (strcmp(argv[0], "backlog") == 0) {
        app_backlog(n);
    } else {
        return 64;
    }
    return 0;
}

/* ---------------------------------------------------------------- launcher (PID 1) */

/* argv: ITERATIONS COUNT then COUNT commands, each "PATH" "ARG" ... ";". Runs them in
 * rotated order, ITERATIONS rounds, timing fork to reaped; writes 'T' k ns per run. */
static int launcher_main(int argc, char **argv) {
    if (argc < 2)
        return 64;
    int iters = atoi(argv[0]), count = atoi(argv[1]);
    char **cmds[MAX_INITS + 1];
    int k = 0, i = 2;
    while (k < count && k <= MAX_INITS && i < argc) {
        cmds[k] = &argv[i];
        while (i < argc && strcmp(argv[i], ";") != 0)
            i++;
        if (i < argc)
            argv[i++] = NULL;
        k++;
    }
    if (k != count)
        return 64;
    int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
    for (int r = 0; r < iters; r++) {
        for (int j = 0; j < count; j++) {
            int c = (r + j) % count;
            int64_t t0 = now_ns();
            pid_t p = fork();
            if (p == 0) {
                dup2(devnull, 0);
                dup2(devnull, 1);
                dup2(devnull, 2);
                execve(cmds[c][0], cmds[c], clean_env);
                _exit(127);
            }
            int st;
            while (p > 0 && waitpid(p, &st, 0) < 0 && errno == EINTR) {
            }
            int64_t t1 = now_ns();
            send_msg(APP_OUT, 'T', c, t1 - t0, p > 0 && WIFEXITED(st) ? WEXITSTATUS(st) : -1, 0);
        }
    }
    send_msg(APP_OUT, 'E', 0, 0, 0, 0);
    return 0;
}

/* ---------------------------------------------------------------- statistics */

struct series {
    double *v;
    int n, cap;
};

static void push(struct series *s, double x) {
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 64;
        s->v = realloc(s->v, sizeof(double) * (size_t)s->cap);
        if (!s->v)
            die("out of memory");
    }
    s->v[s->n++] = x;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Percentile with linear interpolation between closest ranks; NAN when empty. Sorts a
 * copy: the series keeps its order, which pairs it with the other inits' (same round). */
static double pct(struct series *s, double p) {
    if (s->n == 0)
        return NAN;
    double *v = malloc(sizeof(double) * (size_t)s->n);
    if (!v)
        die("out of memory");
    memcpy(v, s->v, sizeof(double) * (size_t)s->n);
    qsort(v, (size_t)s->n, sizeof(double), cmp_double);
    double pos = p / 100.0 * (s->n - 1);
    int lo = (int)floor(pos), hi = (int)ceil(pos);
    double r = v[lo] + (v[hi] - v[lo]) * (pos - lo);
    free(v);
    return r;
}

static double med(struct series *s) { return pct(s, 50); }

/* ---------------------------------------------------------------- the inits */

struct init {
    const char *name;
    char path[4096];
    int present;
    long size;
    int is_static;
    /* results */
    struct series start_pid1, start_sub;                  /* ns, whole run */
    struct series storm_ms, storm_tail_ms, storm_cpu_ms;  /* per storm */
    struct series storm_cpu_per, backlog_cpu_per;         /* ns per reaped process */
    struct series storm_wakes, storm_cpu_per_wake;        /* wake-ups per reaped; ns each */
    struct series backlog_ms, backlog_rate, backlog_cpu_ms;
    struct series rss_idle, hwm_idle, rss_storm, hwm_storm, hwm_signals, anon_idle, anon_storm;
    struct series hwm_small, hwm_large;
    struct series ctxsw;     /* per idle window */
    struct series lat_init;  /* ns, kill(init) to the app's handler */
    struct series lat_direct;/* ns, kill(app) to the app's handler, same session */
    int lost_signals;
    int failures;
};

static struct init inits[MAX_INITS];
/* --attach: a profiler started on the init for the storm and the backlog, e.g.
 * 'strace -c -o /tmp/strace.{name} -p {pid}'; it gets SIGINT when the measurement ends. */
static const char *attach_cmd;
static int n_inits;
static struct series start_pid1_true, start_sub_true;
static char logdir[4096] = "/tmp";

/* Static means no program interpreter (PT_INTERP): nothing is loaded before it runs. */
static int elf_is_static(const char *path) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    Elf64_Ehdr eh;
    int result = -1;
    if (pread(fd, &eh, sizeof eh, 0) == (ssize_t)sizeof eh && memcmp(eh.e_ident, ELFMAG, SELFMAG) == 0 &&
        eh.e_ident[EI_CLASS] == ELFCLASS64) {
        result = 1;
        for (int i = 0; i < eh.e_phnum; i++) {
            Elf64_Phdr ph;
            if (pread(fd, &ph, sizeof ph, (off_t)(eh.e_phoff + (uint64_t)i * eh.e_phentsize)) != (ssize_t)sizeof ph) {
                result = -1;
                break;
            }
            if (ph.p_type == PT_INTERP)
                result = 0;
        }
    }
    close(fd);
    return result;
}

static void add_init(const char *name, const char *path) {
    if (n_inits >= MAX_INITS)
        die("too many inits");
    for (int i = 0; i < n_inits; i++) {
        if (strcmp(inits[i].name, name) == 0) {
            snprintf(inits[i].path, sizeof inits[i].path, "%s", path);
            return;
        }
    }
    struct init *in = &inits[n_inits++];
    in->name = strdup(name);
    snprintf(in->path, sizeof in->path, "%s", path);
}

/* ---------------------------------------------------------------- reading /proc */

static long status_field(pid_t pid, const char *field) {
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "re");
    if (!f)
        return -1;
    long v = -1;
    size_t len = strlen(field);
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, field, len) == 0 && line[len] == ':') {
            v = strtol(line + len + 1, NULL, 10);
            break;
        }
    }
    fclose(f);
    return v;
}

static long ctx_switches(pid_t pid) {
    long a = status_field(pid, "voluntary_ctxt_switches");
    long b = status_field(pid, "nonvoluntary_ctxt_switches");
    return a < 0 || b < 0 ? -1 : a + b;
}

/* The init's CPU time (user + system) in ns, from its CPU-time clock: exact, unlike the
 * clock ticks of /proc/PID/stat. */
static int64_t cpu_ns(pid_t pid) {
    clockid_t cid;
    struct timespec t;
    if (clock_getcpuclockid(pid, &cid) != 0 || clock_gettime(cid, &t) != 0)
        return -1;
    return (int64_t)t.tv_sec * 1000000000LL + t.tv_nsec;
}

static char host_state(pid_t pid) { return proc_state(pid); }

/* The init's only child, the app, as this (the host's) PID namespace numbers it. */
static pid_t child_of(pid_t parent) {
    DIR *d = opendir("/proc");
    if (!d)
        return -1;
    struct dirent *e;
    pid_t found = -1;
    while ((e = readdir(d))) {
        if (!isdigit((unsigned char)e->d_name[0]))
            continue;
        char path[300], buf[512];
        snprintf(path, sizeof path, "/proc/%s/stat", e->d_name);
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
            continue;
        ssize_t n = read(fd, buf, sizeof buf - 1);
        close(fd);
        if (n <= 0)
            continue;
        buf[n] = 0;
        char *p = strrchr(buf, ')');
        int ppid;
        char st;
        if (p && sscanf(p + 1, " %c %d", &st, &ppid) == 2 && ppid == parent) {
            found = atoi(e->d_name);
            break;
        }
    }
    closedir(d);
    return found;
}

/* ---------------------------------------------------------------- sessions */

struct session {
    struct init *in;
    pid_t pid;  /* the init, PID 1 of its namespace */
    pid_t app;  /* its application, in our numbering */
    int from_app, to_app;
};

/* fork() into a new PID (and, with mount_proc, mount) namespace; returns like fork. */
static pid_t fork_namespace(int mount_proc) {
    long flags = CLONE_NEWPID | SIGCHLD | (mount_proc ? CLONE_NEWNS : 0);
    pid_t p = (pid_t)syscall(SYS_clone, flags, NULL, NULL, NULL, 0);
    if (p != 0)
        return p;
    /* The child: PID 1. If the driver dies, so does the namespace. (getppid() is 0 here,
     * the parent being outside the namespace, so a parent that died before this prctl
     * cannot be told; the driver's watchdog is long, so that never happens.) */
    prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
    if (mount_proc) {
        if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0 ||
            mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) != 0)
            _exit(122);
    }
    return 0;
}

/* Puts `fd` at `target` without close-on-exec, whatever numbers they are now. */
static void place_fd(int fd, int target) {
    if (fd == target) {
        fcntl(fd, F_SETFD, 0);
    } else {
        dup2(fd, target);
    }
}

static void redirect_stdio(const char *errlog) {
    int null = open("/dev/null", O_RDWR);
    int err = errlog ? open(errlog, O_WRONLY | O_CREAT | O_APPEND, 0644) : -1;
    dup2(null, 0);
    dup2(null, 1);
    dup2(err >= 0 ? err : null, 2);
}

/* Starts INIT -- self app ARGS... as PID 1 of a new namespace and waits for the app's
 * 'R'. Returns 0, or -1 (with everything it started gone). */
static int session_start(struct session *s, struct init *in, char *const app_args[], int nargs) {
    memset(s, 0, sizeof *s);
    s->in = in;
    int up[2], down[2];
    if (pipe2(up, O_CLOEXEC) != 0 || pipe2(down, O_CLOEXEC) != 0)
        die("pipe: %s", strerror(errno));
    char errlog[4200];
    snprintf(errlog, sizeof errlog, "%s/%s.stderr", logdir, in->name);
    pid_t p = fork_namespace(1);
    if (p < 0)
        die("clone(CLONE_NEWPID): %s (run as root)", strerror(errno));
    if (p == 0) {
        int a = fcntl(up[1], F_DUPFD_CLOEXEC, 10), b = fcntl(down[0], F_DUPFD_CLOEXEC, 10);
        place_fd(a, APP_OUT);
        place_fd(b, APP_IN);
        redirect_stdio(errlog);
        char *argv[16];
        int k = 0;
        argv[k++] = in->path;
        argv[k++] = "--";
        argv[k++] = (char *)self_exe;
        argv[k++] = "app";
        for (int i = 0; i < nargs && k < 15; i++)
            argv[k++] = app_args[i];
        argv[k] = NULL;
        execve(in->path, argv, clean_env);
        _exit(127);
    }
    close(up[1]);
    close(down[0]);
    s->pid = p;
    s->from_app = up[0];
    s->to_app = down[1];
    struct msg m;
    if (recv_msg(s->from_app, &m, 10000000000LL) != 0 || m.tag != 'R') {
        note("%s: the app did not start (see %s)", in->name, errlog);
        kill(p, SIGKILL);
        waitpid(p, NULL, 0);
        close(s->from_app);
        close(s->to_app);
        return -1;
    }
    for (int tries = 0; tries < 1000 && (s->app = child_of(p)) <= 0; tries++)
        sleep_ns(1000000);
    return 0;
}

/* Lets the app exit, then waits for the init to exit; kills it at the deadline. */
static void session_stop(struct session *s) {
    send_msg(s->to_app, 'X', 0, 0, 0, 0);
    close(s->to_app);
    int64_t deadline = now_ns() + 10000000000LL;
    int st;
    for (;;) {
        pid_t r = waitpid(s->pid, &st, WNOHANG);
        if (r == s->pid)
            break;
        if (r < 0 && errno != EINTR)
            break;
        if (now_ns() > deadline) {
            note("%s did not exit 10 s after its app: killing it", s->in->name);
            kill(s->pid, SIGKILL);
            waitpid(s->pid, &st, 0);
            break;
        }
        sleep_ns(500000);
    }
    close(s->from_app);
}

static void session_kill(struct session *s) {
    kill(s->pid, SIGKILL);
    waitpid(s->pid, NULL, 0);
    close(s->to_app);
    close(s->from_app);
}

static void record_memory(struct session *s, struct series *rss, struct series *hwm, struct series *anon) {
    long r = status_field(s->pid, "VmRSS"), h = status_field(s->pid, "VmHWM");
    long a = status_field(s->pid, "RssAnon");
    if (anon && a >= 0)
        push(anon, (double)a);
    if (rss && r >= 0)
        push(rss, (double)r);
    if (hwm && h >= 0)
        push(hwm, (double)h);
}

/* ---------------------------------------------------------------- measurements */

struct params {
    int orphans, backlog, rounds, backlog_rounds;
    int start_iters;
    int lat_samples, lat_blocks;
    int idle_windows, idle_seconds;
    int flat_small, flat_large, flat_all;
};

static int active[MAX_INITS];
static int n_active;

#define ROTATE(r, j, n) (((r) + (j)) % (n))

static void measure_startup(const struct params *P) {
    /* PID 1: each run is a new PID namespace whose PID 1 is INIT (or /bin/true). */
    int n = n_active + 1;
    for (int r = 0; r < P->start_iters; r++) {
        for (int j = 0; j < n; j++) {
            int c = ROTATE(r, j, n);
            struct init *in = c < n_active ? &inits[active[c]] : NULL;
            int64_t t0 = now_ns();
            pid_t p = fork_namespace(0);
            if (p < 0)
                die("clone(CLONE_NEWPID): %s (run as root)", strerror(errno));
            if (p == 0) {
                redirect_stdio(NULL);
                if (in) {
                    char *argv[] = {in->path, "--", "/bin/true", NULL};
                    execve(in->path, argv, clean_env);
                } else {
                    char *argv[] = {"/bin/true", NULL};
                    execve("/bin/true", argv, clean_env);
                }
                _exit(127);
            }
            int st;
            waitpid(p, &st, 0);
            int64_t dt = now_ns() - t0;
            if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
                if (in)
                    in->failures++;
                continue;
            }
            push(in ? &in->start_pid1 : &start_pid1_true, (double)dt);
        }
    }

    /* Not PID 1: one namespace whose PID 1 is our launcher; INIT runs as its child. */
    char iters[32], count[32];
    snprintf(iters, sizeof iters, "%d", P->start_iters);
    snprintf(count, sizeof count, "%d", n);
    char *argv[4 * MAX_INITS + 16];
    int k = 0;
    argv[k++] = (char *)self_exe;
    argv[k++] = "launcher";
    argv[k++] = iters;
    argv[k++] = count;
    for (int c = 0; c < n; c++) {
        if (c < n_active) {
            argv[k++] = inits[active[c]].path;
            argv[k++] = "--";
        }
        argv[k++] = "/bin/true";
        argv[k++] = ";";
    }
    argv[k] = NULL;
    int up[2];
    if (pipe2(up, O_CLOEXEC) != 0)
        die("pipe: %s", strerror(errno));
    pid_t p = fork_namespace(1);
    if (p < 0)
        die("clone: %s", strerror(errno));
    if (p == 0) {
        place_fd(fcntl(up[1], F_DUPFD_CLOEXEC, 10), APP_OUT);
        redirect_stdio(NULL);
        execve(self_exe, argv, clean_env);
        _exit(127);
    }
    close(up[1]);
    int64_t timeout = 60000000000LL + (int64_t)P->start_iters * n * 200000000LL;
    int64_t deadline = now_ns() + timeout;
    struct msg m;
    int done = 0;
    while (!done) {
        if (recv_msg(up[0], &m, deadline - now_ns()) != 0) {
            note("start-up (not PID 1): the launcher stopped answering; killing it");
            kill(p, SIGKILL);
            break;
        }
        if (m.tag == 'E')
            done = 1;
        else if (m.tag == 'T') {
            struct init *in = m.n < n_active ? &inits[active[m.n]] : NULL;
            if (m.b != 0) {
                if (in)
                    in->failures++;
            } else {
                push(in ? &in->start_sub : &start_sub_true, (double)m.a);
            }
        }
    }
    waitpid(p, NULL, 0);
    close(up[0]);
}

/* Starts --attach on the init `pid`; returns the profiler's pid or -1. */
static pid_t attach_start(const char *name, pid_t pid) {
    if (!attach_cmd)
        return -1;
    char cmd[8192];
    size_t o = 0;
    for (const char *p = attach_cmd; *p && o < sizeof cmd - 64; p++) {
        if (strncmp(p, "{pid}", 5) == 0) {
            o += (size_t)snprintf(cmd + o, sizeof cmd - o, "%d", (int)pid);
            p += 4;
        } else if (strncmp(p, "{name}", 6) == 0) {
            o += (size_t)snprintf(cmd + o, sizeof cmd - o, "%s", name);
            p += 5;
        } else {
            cmd[o++] = *p;
        }
    }
    cmd[o] = 0;
    pid_t a = fork();
    if (a == 0) {
        setpgid(0, 0);
        execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
        _exit(127);
    }
    sleep_ns(1000000000LL); /* let it attach */
    return a;
}

static void attach_stop(pid_t a) {
    if (a <= 0)
        return;
    kill(-a, SIGINT);
    int64_t deadline = now_ns() + 20000000000LL;
    while (waitpid(a, NULL, WNOHANG) == 0) {
        if (now_ns() > deadline) {
            kill(-a, SIGKILL);
            waitpid(a, NULL, 0);
            return;
        }
        sleep_ns(10000000);
    }
}

static void measure_storm(struct init *in, int n, struct series *hwm_out, int timed) {
    char nbuf[32];
    snprintf(nbuf, sizeof nbuf, "%d", n);
    char *args[] = {"storm", nbuf};
    struct session s;
    if (session_start(&s, in, args, 2) != 0) {
        in->failures++;
        return;
    }
    pid_t prof = timed ? attach_start(in->name, s.pid) : -1;
    long v0 = status_field(s.pid, "voluntary_ctxt_switches");
    int64_t c0 = cpu_ns(s.pid);
    send_msg(s.to_app, 'G', 0, 0, 0, 0);
    struct msg m;
    int64_t timeout = 30000000000LL + (int64_t)n * 2000000LL; /* 2 ms an orphan, at worst */
    if (recv_msg(s.from_app, &m, timeout) != 0 || m.tag != 'D' || m.n != n) {
        note("%s: the %d-orphan storm did not finish; killing it", in->name, n);
        in->failures++;
        attach_stop(prof);
        session_kill(&s);
        return;
    }
    int64_t c1 = cpu_ns(s.pid);
    long v1 = status_field(s.pid, "voluntary_ctxt_switches");
    attach_stop(prof);
    if (timed) {
        /* Each time the init goes back to sleep is one voluntary context switch. */
        if (v0 >= 0 && v1 > v0) {
            push(&in->storm_wakes, (double)(v1 - v0) / n);
            push(&in->storm_cpu_per_wake, (double)(c1 - c0) / (double)(v1 - v0));
        }
        push(&in->storm_ms, (double)(m.c - m.a) / 1e6);
        push(&in->storm_tail_ms, (double)(m.c - m.b) / 1e6);
        push(&in->storm_cpu_ms, (double)(c1 - c0) / 1e6);
        push(&in->storm_cpu_per, (double)(c1 - c0) / n);
        record_memory(&s, &in->rss_storm, &in->hwm_storm, &in->anon_storm);
    }
    if (hwm_out)
        record_memory(&s, NULL, hwm_out, NULL);
    session_stop(&s);
}

static void measure_backlog(struct init *in, int n) {
    char nbuf[32];
    snprintf(nbuf, sizeof nbuf, "%d", n);
    char *args[] = {"backlog", nbuf};
    struct session s;
    if (session_start(&s, in, args, 2) != 0) {
        in->failures++;
        return;
    }
    kill(s.pid, SIGSTOP);
    int64_t deadline = now_ns() + 5000000000LL;
    while (host_state(s.pid) != 'T') {
        if (now_ns() > deadline) {
            note("%s: did not stop on SIGSTOP", in->name);
            in->failures++;
            session_kill(&s);
            return;
        }
        sleep_ns(200000);
    }
    send_msg(s.to_app, 'G', 0, 0, 0, 0);
    struct msg m;
    int64_t timeout = 30000000000LL + (int64_t)n * 2000000LL;
    if (recv_msg(s.from_app, &m, timeout) != 0 || m.tag != 'P' || m.n != n) {
        note("%s: the %d-zombie backlog could not be built (%s); killing it", in->name, n,
             m.tag != 'P' ? "no answer" : m.a == 73 ? "fork failed: out of pids?" : "the spawner failed");
        in->failures++;
        session_kill(&s);
        return;
    }
    pid_t prof = attach_start(in->name, s.pid);
    int64_t c0 = cpu_ns(s.pid);
    int64_t t0 = now_ns();
    kill(s.pid, SIGCONT);
    if (recv_msg(s.from_app, &m, timeout) != 0 || m.tag != 'D' || m.n != n) {
        note("%s: the %d-zombie backlog was not reaped in time; killing it", in->name, n);
        in->failures++;
        attach_stop(prof);
        session_kill(&s);
        return;
    }
    int64_t c1 = cpu_ns(s.pid);
    attach_stop(prof);
    double secs = (double)(m.c - t0) / 1e9;
    push(&in->backlog_ms, secs * 1e3);
    push(&in->backlog_rate, n / secs);
    push(&in->backlog_cpu_ms, (double)(c1 - c0) / 1e6);
    push(&in->backlog_cpu_per, (double)(c1 - c0) / n);
    session_stop(&s);
}

/* All inits idle side by side: memory and context switches, then signal latency. The
 * signals are sent in blocks, each with fresh sessions started in a rotated order, so
 * that where the scheduler happened to place an init and its app averages out. */
static void measure_idle_and_signals(const struct params *P) {
    char *args[] = {"idle"};
    unsigned seed = 12345;
    int per_block = (P->lat_samples + P->lat_blocks - 1) / P->lat_blocks;
    for (int b = 0; b < P->lat_blocks; b++) {
        struct session ss[MAX_INITS];
        int ok[MAX_INITS] = {0};
        for (int j0 = 0; j0 < n_active; j0++) {
            int j = ROTATE(b, j0, n_active);
            ok[j] = session_start(&ss[j], &inits[active[j]], args, 1) == 0 && ss[j].app > 0;
            if (!ok[j])
                inits[active[j]].failures++;
        }
        sleep_ns(300000000);
        if (b == 0) {
            for (int j = 0; j < n_active; j++)
                if (ok[j])
                    record_memory(&ss[j], &inits[active[j]].rss_idle, &inits[active[j]].hwm_idle,
                                  &inits[active[j]].anon_idle);
            for (int w = 0; w < P->idle_windows; w++) {
                long before[MAX_INITS];
                for (int j = 0; j < n_active; j++)
                    before[j] = ok[j] ? ctx_switches(ss[j].pid) : -1;
                sleep_ns((int64_t)P->idle_seconds * 1000000000LL);
                for (int j = 0; j < n_active; j++) {
                    long after = ok[j] ? ctx_switches(ss[j].pid) : -1;
                    if (before[j] >= 0 && after >= 0)
                        push(&inits[active[j]].ctxsw, (double)(after - before[j]));
                }
            }
        }
        for (int r = b * per_block; r < P->lat_samples && r < (b + 1) * per_block; r++) {
            for (int j0 = 0; j0 < n_active; j0++) {
                int j = ROTATE(r, j0, n_active);
                if (!ok[j])
                    continue;
                struct init *in = &inits[active[j]];
                /* Through the init and straight to the app, alternating which goes first. */
                for (int k = 0; k < 2; k++) {
                    int direct = (k + r) % 2;
                    pid_t target = direct ? ss[j].app : ss[j].pid;
                    struct msg m;
                    int64_t t0 = now_ns();
                    kill(target, SIGUSR1);
                    if (recv_msg(ss[j].from_app, &m, 1000000000LL) != 0 || m.tag != 'S') {
                        in->lost_signals++;
                        continue;
                    }
                    push(direct ? &in->lat_direct : &in->lat_init, (double)(m.a - t0));
                    seed = seed * 1103515245u + 12345u;
                    sleep_ns(100000 + (seed >> 16) % 200000);
                }
            }
        }
        for (int j = 0; j < n_active; j++)
            if (ok[j]) {
                record_memory(&ss[j], NULL, &inits[active[j]].hwm_signals, NULL);
                session_stop(&ss[j]);
            }
    }
}

/* ---------------------------------------------------------------- report */

static int reaper_idx = -1; /* into active[] */

enum better { LOWER, HIGHER };

static void fmt_num(char *buf, size_t len, double x) {
    if (isnan(x))
        snprintf(buf, len, "n/a");
    else if (fabs(x) >= 1000)
        snprintf(buf, len, "%.0f", x);
    else if (fabs(x) >= 100)
        snprintf(buf, len, "%.1f", x);
    else if (fabs(x) >= 10)
        snprintf(buf, len, "%.2f", x);
    else
        snprintf(buf, len, "%.3g", x);
}

/* One figure: a line per init with median, spread and ratio to reaper. `get` picks the
 * series; `scale` converts its unit; `lo`/`hi` the percentiles of the spread. */
typedef struct series *(*getter)(struct init *);

static double summary_median[48][MAX_INITS];
static const char *summary_label[48];
static char summary_p99_label[48][160];
static const char *summary_unit[48];
static enum better summary_better[48];
static int n_summary;

static void figure(const char *label, const char *unit, enum better b, getter get, double scale,
                   double offset_series_median, double lo, double hi, int with_p99) {
    printf("\n  %s [%s; %s is better]\n", label, unit, b == LOWER ? "lower" : "higher");
    printf("    %-12s %10s  %-24s %10s %8s  %-14s %s\n", "init", "median", with_p99 ? "p10 - p90" : "spread",
           with_p99 ? "p99" : "", "n", "peer / reaper", "reaper better");
    struct series *rs = reaper_idx >= 0 ? get(&inits[active[reaper_idx]]) : NULL;
    double ref = NAN;
    if (reaper_idx >= 0) {
        struct series *s = get(&inits[active[reaper_idx]]);
        ref = (med(s) - offset_series_median) * scale;
    }
    int row = n_summary < 46 ? n_summary++ : 46;
    summary_label[row] = label;
    summary_unit[row] = unit;
    summary_better[row] = b;
    int row99 = -1;
    if (with_p99) {
        row99 = n_summary < 46 ? n_summary++ : 47;
        snprintf(summary_p99_label[row99], sizeof summary_p99_label[row99], "%s, p99", label);
        summary_label[row99] = summary_p99_label[row99];
        summary_unit[row99] = unit;
        summary_better[row99] = b;
    }
    for (int j = 0; j < n_active; j++) {
        struct init *in = &inits[active[j]];
        struct series *s = get(in);
        double m = (med(s) - offset_series_median) * scale;
        double l = (pct(s, lo) - offset_series_median) * scale, h = (pct(s, hi) - offset_series_median) * scale;
        double p99 = (pct(s, 99) - offset_series_median) * scale;
        summary_median[row][j] = m;
        if (row99 >= 0)
            summary_median[row99][j] = p99;
        char mb[32], lb[32], hb[32], pb[32], spread[80], ratio[32];
        fmt_num(mb, sizeof mb, m);
        fmt_num(lb, sizeof lb, l);
        fmt_num(hb, sizeof hb, h);
        fmt_num(pb, sizeof pb, p99);
        if (s->n > 1)
            snprintf(spread, sizeof spread, "%s - %s", lb, hb);
        else
            snprintf(spread, sizeof spread, "-");
        if (j == reaper_idx || isnan(ref) || isnan(m))
            snprintf(ratio, sizeof ratio, "%s", j == reaper_idx ? "1" : "");
        else if (ref == 0)
            snprintf(ratio, sizeof ratio, m == 0 ? "1" : "inf");
        else
            snprintf(ratio, sizeof ratio, "%.2f", m / ref);
        /* Paired with reaper's value of the same round: how often reaper did better. */
        char wins[48] = "";
        if (rs && j != reaper_idx && rs->n == s->n && s->n > 1) {
            int w = 0, t = 0;
            for (int i = 0; i < s->n; i++) {
                double a = rs->v[i], c = s->v[i];
                if (a == c)
                    t++;
                else if (b == LOWER ? a < c : a > c)
                    w++;
            }
            snprintf(wins, sizeof wins, "%d/%d%s", w, s->n, t ? " (ties)" : "");
        }
        printf("    %-12s %10s  %-24s %10s %8d  %-14s %s\n", in->name, mb, spread, with_p99 ? pb : "", s->n, ratio,
               wins);
    }
}

#define G(field)                                                                                 \
    static struct series *get_##field(struct init *in) { return &in->field; }
G(start_pid1)
G(start_sub)
G(storm_ms)
G(storm_tail_ms)
G(storm_cpu_ms)
G(storm_cpu_per)
G(storm_wakes)
G(storm_cpu_per_wake)
G(backlog_ms)
G(backlog_rate)
G(backlog_cpu_ms)
G(backlog_cpu_per)
G(rss_idle)
G(hwm_idle)
G(rss_storm)
G(hwm_storm)
G(hwm_signals)
G(anon_idle)
G(anon_storm)
G(hwm_small)
G(hwm_large)
G(ctxsw)
G(lat_init)
G(lat_direct)

/* Forwarding overhead, pairwise: each via-init sample minus the direct median. */
static struct series fwd_tmp[MAX_INITS];
static struct series *get_fwd(struct init *in) { return &fwd_tmp[in - inits]; }

static void print_machine(void) {
    struct utsname u;
    uname(&u);
    char model[256] = "?";
    FILE *f = fopen("/proc/cpuinfo", "re");
    if (f) {
        char line[512];
        while (fgets(line, sizeof line, f))
            if (strncmp(line, "model name", 10) == 0) {
                char *p = strchr(line, ':');
                if (p) {
                    snprintf(model, sizeof model, "%s", p + 2);
                    model[strcspn(model, "\n")] = 0;
                }
                break;
            }
        fclose(f);
    }
    double load[3] = {0};
    getloadavg(load, 3);
    time_t t = time(NULL);
    char date[64];
    strftime(date, sizeof date, "%Y-%m-%d %H:%M %Z", localtime(&t));
    printf("date: %s; kernel %s %s; %ld CPUs (%s); load average %.2f %.2f %.2f\n", date, u.release,
           u.machine, sysconf(_SC_NPROCESSORS_ONLN), model, load[0], load[1], load[2]);
}

static void usage(void) {
    printf("usage: bench [--smoke | --quick] [--rounds N] [--orphans N] [--backlog-rounds N] [--backlog N]\n"
           "             [--startup-iters N] [--latency-samples N] [--latency-blocks N] [--idle-windows N]\n"
           "             [--idle-seconds N] [--flat SMALL:LARGE] [--flat-all | --flat-reaper-only]\n"
           "             [--measure startup,idle,storm,backlog,flat] [--only NAME,NAME...] [--init NAME=PATH] [--reaper PATH] [--logdir DIR]\n"
           "             [--attach 'PROFILER ... {pid} ... {name}']\n"
           "Run as root (it makes PID namespaces). bench/run builds everything and runs this.\n");
}

int main(int argc, char **argv) {
    static char exe[4096];
    ssize_t len = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (len <= 0)
        die("cannot read /proc/self/exe");
    exe[len] = 0;
    self_exe = exe;
    if (argc > 1 && strcmp(argv[1], "app") == 0)
        return app_main(argc - 2, argv + 2);
    if (argc > 1 && strcmp(argv[1], "launcher") == 0)
        return launcher_main(argc - 2, argv + 2);

    struct params P = {20000, 20000, 5, 10, 300, 4000, 8, 3, 5, 1000, 100000, 1};
    const char *only = NULL;
    const char *measure = "startup,idle,storm,backlog,flat";
    const char *mode = "full";
    add_init("reaper", "target/x86_64-unknown-linux-musl/release/reaper");
    add_init("tini-static", "/usr/bin/tini-static");
    add_init("dumb-init", "/usr/bin/dumb-init");
    add_init("catatonit", access("/usr/bin/catatonit", X_OK) == 0 ? "/usr/bin/catatonit"
                                                                  : "/usr/libexec/podman/catatonit");
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
#define NEEDV()                                                                                  \
    do {                                                                                         \
        if (!v)                                                                                  \
            die("%s needs a value", a);                                                          \
        i++;                                                                                     \
    } while (0)
        if (strcmp(a, "--smoke") == 0) {
            P = (struct params){300, 300, 1, 1, 5, 30, 1, 1, 5, 100, 1000, 0};
            mode = "smoke";
        } else if (strcmp(a, "--quick") == 0) {
            P = (struct params){20000, 20000, 2, 4, 100, 1000, 2, 1, 5, 1000, 100000, 0};
            mode = "quick";
        } else if (strcmp(a, "--rounds") == 0) {
            NEEDV();
            P.rounds = atoi(v);
        } else if (strcmp(a, "--backlog-rounds") == 0) {
            NEEDV();
            P.backlog_rounds = atoi(v);
        } else if (strcmp(a, "--orphans") == 0) {
            NEEDV();
            P.orphans = atoi(v);
        } else if (strcmp(a, "--backlog") == 0) {
            NEEDV();
            P.backlog = atoi(v);
        } else if (strcmp(a, "--startup-iters") == 0) {
            NEEDV();
            P.start_iters = atoi(v);
        } else if (strcmp(a, "--latency-samples") == 0) {
            NEEDV();
            P.lat_samples = atoi(v);
        } else if (strcmp(a, "--latency-blocks") == 0) {
            NEEDV();
            P.lat_blocks = atoi(v);
        } else if (strcmp(a, "--idle-windows") == 0) {
            NEEDV();
            P.idle_windows = atoi(v);
        } else if (strcmp(a, "--idle-seconds") == 0) {
            NEEDV();
            P.idle_seconds = atoi(v);
        } else if (strcmp(a, "--flat") == 0) {
            NEEDV();
            if (sscanf(v, "%d:%d", &P.flat_small, &P.flat_large) != 2)
                die("--flat takes SMALL:LARGE");
        } else if (strcmp(a, "--flat-all") == 0) {
            P.flat_all = 1;
        } else if (strcmp(a, "--flat-reaper-only") == 0) {
            P.flat_all = 0;
        } else if (strcmp(a, "--measure") == 0) {
            NEEDV();
            measure = v;
        } else if (strcmp(a, "--only") == 0) {
            NEEDV();
            only = v;
        } else if (strcmp(a, "--init") == 0) {
            NEEDV();
            char *eq = strchr(v, '=');
            if (!eq)
                die("--init takes NAME=PATH");
            *eq = 0;
            add_init(v, eq + 1);
        } else if (strcmp(a, "--reaper") == 0) {
            NEEDV();
            add_init("reaper", v);
        } else if (strcmp(a, "--attach") == 0) {
            NEEDV();
            attach_cmd = v;
        } else if (strcmp(a, "--logdir") == 0) {
            NEEDV();
            snprintf(logdir, sizeof logdir, "%s", v);
        } else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            usage();
            return 0;
        } else {
            usage();
            die("unknown argument '%s'", a);
        }
    }
    if (P.rounds < 1 || P.backlog_rounds < 1 || P.orphans < 1 || P.backlog < 1 || P.start_iters < 1 || P.lat_samples < 1 || P.lat_blocks < 1 ||
        P.idle_windows < 1 || P.idle_seconds < 1 || P.flat_small < 1 || P.flat_large < 1)
        die("every count must be at least 1");
    if (geteuid() != 0)
        die("run as root: every init runs as PID 1 of a PID namespace of its own");
    /* Nothing of ours may be stopped by a terminal or die of a pipe. */
    signal(SIGPIPE, SIG_IGN);
    /* A watchdog: the driver dying takes every namespace with it (PR_SET_PDEATHSIG). */
    alarm(3 * 3600);

    for (int i = 0; i < n_inits; i++) {
        struct init *in = &inits[i];
        struct stat st;
        int wanted = !only;
        for (const char *p = only; p && *p;) {
            size_t len = strcspn(p, ",");
            if (len == strlen(in->name) && strncmp(p, in->name, len) == 0)
                wanted = 1;
            p += len + (p[len] == ',');
        }
        if (!wanted)
            continue;
        if (stat(in->path, &st) != 0 || !(st.st_mode & S_IXUSR)) {
            if (i == 0)
                die("no reaper binary at %s (cargo build --release --target x86_64-unknown-linux-musl)",
                    in->path);
            note("%s not found at %s: left out", in->name, in->path);
            continue;
        }
        char real[4096];
        if (realpath(in->path, real))
            snprintf(in->path, sizeof in->path, "%s", real);
        in->present = 1;
        in->size = (long)st.st_size;
        in->is_static = elf_is_static(in->path);
        if (i == 0)
            reaper_idx = n_active;
        active[n_active++] = i;
    }
    if (n_active == 0)
        die("no init to measure");

    int64_t started = now_ns();
    printf("reaper benchmark (%s): %d storms of %d orphans, %d backlogs of %d zombies, %d start-ups, "
           "%d signals, %d x %d s idle, for each init\n",
           mode, P.rounds, P.orphans, P.backlog_rounds, P.backlog, P.start_iters, P.lat_samples,
           P.idle_windows, P.idle_seconds);
    print_machine();
    printf("inits:");
    for (int j = 0; j < n_active; j++)
        printf(" %s=%s", inits[active[j]].name, inits[active[j]].path);
    printf("\n");
    fflush(stdout);

    if (strstr(measure, "startup")) {
        note("start-up: %d x %d runs as PID 1, and as many not as PID 1", P.start_iters, n_active + 1);
        measure_startup(&P);
    }
    if (strstr(measure, "idle")) {
        note("idle: %d window(s) of %d s, then %d signals through each init and direct", P.idle_windows,
             P.idle_seconds, P.lat_samples);
        measure_idle_and_signals(&P);
    }
    int storm = strstr(measure, "storm") != NULL, backlog = strstr(measure, "backlog") != NULL;
    int rounds = storm && backlog ? (P.rounds > P.backlog_rounds ? P.rounds : P.backlog_rounds)
                 : storm          ? P.rounds
                 : backlog        ? P.backlog_rounds
                                  : 0;
    for (int r = 0; r < rounds; r++) {
        int do_storm = storm && r < P.rounds, do_backlog = backlog && r < P.backlog_rounds;
        note("round %d/%d:%s%s, for each init", r + 1, rounds, do_storm ? " storm" : "",
             do_backlog ? " backlog" : "");
        for (int j = 0; do_storm && j < n_active; j++)
            measure_storm(&inits[active[ROTATE(r, j, n_active)]], P.orphans, NULL, 1);
        for (int j = 0; do_backlog && j < n_active; j++)
            measure_backlog(&inits[active[ROTATE(r, j, n_active)]], P.backlog);
    }
    if (strstr(measure, "flat")) {
        note("flatness: VmHWM after %d and after %d orphans (%s)", P.flat_small, P.flat_large,
             P.flat_all ? "every init" : "reaper only");
        for (int j = 0; j < n_active; j++) {
            struct init *in = &inits[active[j]];
            if (!P.flat_all && j != reaper_idx)
                continue;
            measure_storm(in, P.flat_small, &in->hwm_small, 0);
            measure_storm(in, P.flat_large, &in->hwm_large, 0);
        }
    }

    /* ------------------------------------------------ tables */
    printf("\n(1) binary\n");
    printf("    %-12s %10s  %-8s  %s\n", "init", "bytes", "static", "peer / reaper");
    for (int j = 0; j < n_active; j++) {
        struct init *in = &inits[active[j]];
        double ratio = reaper_idx >= 0 ? (double)in->size / inits[active[reaper_idx]].size : NAN;
        printf("    %-12s %10ld  %-8s  %.2f\n", in->name, in->size,
               in->is_static == 1 ? "yes" : in->is_static == 0 ? "no" : "?", ratio);
    }

    printf("\n(2) start-up overhead: INIT -- /bin/true minus plain /bin/true (medians of %d runs)\n",
           P.start_iters);
    double true_pid1 = med(&start_pid1_true), true_sub = med(&start_sub_true);
    printf("    /bin/true alone: %.0f us as PID 1 of a new namespace, %.0f us not PID 1\n", true_pid1 / 1e3,
           true_sub / 1e3);
    figure("start-up overhead, as PID 1", "us", LOWER, get_start_pid1, 1e-3, true_pid1, 10, 90, 0);
    figure("start-up overhead, not PID 1 (child of a PID 1)", "us", LOWER, get_start_sub, 1e-3, true_sub, 10, 90,
           0);

    printf("\n(3) reaping, as PID 1\n");
    figure("storm: time until no zombie is left", "ms", LOWER, get_storm_ms, 1, 0, 10, 90, 0);
    figure("storm: tail, from the last orphan made to the last reaped", "ms", LOWER, get_storm_tail_ms, 1, 0, 10,
           90, 0);
    figure("backlog: time to reap every zombie after SIGCONT", "ms", LOWER, get_backlog_ms, 1, 0, 10, 90, 0);
    figure("backlog: reaping rate", "reaped/s", HIGHER, get_backlog_rate, 1, 0, 10, 90, 0);

    printf("\n(4) signal forwarding: kill(SIGUSR1) until the app's handler runs\n");
    figure("signal latency through the init", "us", LOWER, get_lat_init, 1e-3, 0, 10, 90, 1);
    for (int j = 0; j < n_active; j++) {
        struct init *in = &inits[active[j]];
        fwd_tmp[active[j]] = (struct series){0};
        double d = med(&in->lat_direct);
        for (int i = 0; i < in->lat_init.n; i++)
            push(&fwd_tmp[active[j]], in->lat_init.v[i] - d);
    }
    /* p99 is one number per init; to tell a difference from noise, compare it block by
     * block (each block has fresh sessions), as the medians are compared sample by sample. */
    if (reaper_idx >= 0 && P.lat_blocks > 1) {
        struct series *rs = &inits[active[reaper_idx]].lat_init;
        int per = rs->n / P.lat_blocks;
        printf("    p99 block by block (%d blocks of %d signals, fresh sessions each): reaper lower in", P.lat_blocks,
               per);
        for (int j = 0; j < n_active; j++) {
            struct series *ps = &inits[active[j]].lat_init;
            if (j == reaper_idx || ps->n != rs->n || per < 2)
                continue;
            int w = 0;
            for (int b = 0; b < P.lat_blocks; b++) {
                struct series x = {rs->v + b * per, per, per}, y = {ps->v + b * per, per, per};
                w += pct(&x, 99) < pct(&y, 99);
            }
            printf(" %d/%d against %s;", w, P.lat_blocks, inits[active[j]].name);
        }
        printf("\n");
    }
    figure("signal latency, the app signalled directly", "us", LOWER, get_lat_direct, 1e-3, 0, 10, 90, 1);
    figure("forwarding overhead (through the init minus direct median)", "us", LOWER, get_fwd, 1e-3, 0, 10, 90, 1);
    for (int j = 0; j < n_active; j++)
        if (inits[active[j]].lost_signals)
            printf("    %s: %d signals never reached the app\n", inits[active[j]].name,
                   inits[active[j]].lost_signals);

    printf("\n(5) memory of the init\n");
    figure("VmRSS, app sleeping", "KiB", LOWER, get_rss_idle, 1, 0, 10, 90, 0);
    figure("VmHWM, app sleeping", "KiB", LOWER, get_hwm_idle, 1, 0, 10, 90, 0);
    figure("VmHWM, after the signals of (4)", "KiB", LOWER, get_hwm_signals, 1, 0, 10, 90, 0);
    figure("RssAnon (private; the rest of VmRSS is the binary's pages), app sleeping", "KiB", LOWER, get_anon_idle, 1,
           0, 10, 90, 0);
    figure("VmRSS, after a storm", "KiB", LOWER, get_rss_storm, 1, 0, 10, 90, 0);
    figure("VmHWM, after a storm", "KiB", LOWER, get_hwm_storm, 1, 0, 10, 90, 0);
    figure("RssAnon, after a storm", "KiB", LOWER, get_anon_storm, 1, 0, 10, 90, 0);
    char flat_small[96], flat_large[96];
    snprintf(flat_small, sizeof flat_small, "VmHWM after a storm of %d orphans", P.flat_small);
    snprintf(flat_large, sizeof flat_large, "VmHWM after a storm of %d orphans", P.flat_large);
    figure(flat_small, "KiB", LOWER, get_hwm_small, 1, 0, 10, 90, 0);
    figure(flat_large, "KiB", LOWER, get_hwm_large, 1, 0, 10, 90, 0);

    printf("\n(6) context switches of the init while idle\n");
    char ctx_label[64];
    snprintf(ctx_label, sizeof ctx_label, "context switches in %d idle s", P.idle_seconds);
    figure(ctx_label, "count", LOWER, get_ctxsw, 1, 0, 0, 100, 0);

    printf("\n(7) CPU time of the init (user + system)\n");
    figure("CPU during a storm", "ms", LOWER, get_storm_cpu_ms, 1, 0, 10, 90, 0);
    figure("storm: CPU per reaped process", "us", LOWER, get_storm_cpu_per, 1e-3, 0, 10, 90, 0);
    figure("storm: wake-ups of the init per reaped process (fewer = more batched, slower to react)", "count", LOWER,
           get_storm_wakes, 1, 0, 10, 90, 0);
    figure("storm: CPU per wake-up", "us", LOWER, get_storm_cpu_per_wake, 1e-3, 0, 10, 90, 0);
    figure("CPU during a backlog", "ms", LOWER, get_backlog_cpu_ms, 1, 0, 10, 90, 0);
    figure("backlog: CPU per reaped process", "us", LOWER, get_backlog_cpu_per, 1e-3, 0, 10, 90, 0);

    /* A markdown table of the medians, for doc/performance.md and the README. */
    printf("\nSummary: medians (p99 where it says so); in brackets, peer / reaper\n\n| figure | better |");
    for (int j = 0; j < n_active; j++)
        printf(" %s |", inits[active[j]].name);
    printf("\n|---|---|");
    for (int j = 0; j < n_active; j++)
        printf("---:|");
    printf("\n| binary size, bytes | lower |");
    for (int j = 0; j < n_active; j++) {
        struct init *in = &inits[active[j]];
        printf(" %ld", in->size);
        if (j != reaper_idx && reaper_idx >= 0)
            printf(" [%.2f]", (double)in->size / inits[active[reaper_idx]].size);
        printf(" |");
    }
    printf("\n| static | |");
    for (int j = 0; j < n_active; j++)
        printf(" %s |", inits[active[j]].is_static == 1 ? "yes" : inits[active[j]].is_static == 0 ? "no" : "?");
    printf("\n");
    for (int row = 0; row < n_summary; row++) {
        int any = 0;
        for (int j = 0; j < n_active; j++)
            any |= !isnan(summary_median[row][j]);
        if (!any)
            continue;
        printf("| %s, %s | %s |", summary_label[row], summary_unit[row],
               summary_better[row] == LOWER ? "lower" : "higher");
        double ref = reaper_idx >= 0 ? summary_median[row][reaper_idx] : NAN;
        for (int j = 0; j < n_active; j++) {
            char mb[32];
            fmt_num(mb, sizeof mb, summary_median[row][j]);
            printf(" %s", mb);
            if (j != reaper_idx && !isnan(ref) && ref != 0 && !isnan(summary_median[row][j]))
                printf(" [%.2f]", summary_median[row][j] / ref);
            printf(" |");
        }
        printf("\n");
    }

    int failures = 0;
    for (int j = 0; j < n_active; j++) {
        if (inits[active[j]].failures) {
            printf("\n%s: %d measurement(s) could not run (stderr in %s/%s.stderr)\n", inits[active[j]].name,
                   inits[active[j]].failures, logdir, inits[active[j]].name);
            failures += inits[active[j]].failures;
        }
    }
    double load[3] = {0};
    getloadavg(load, 3);
    printf("\nfinished in %.0f s; load average at the end %.2f %.2f %.2f\n", (double)(now_ns() - started) / 1e9,
           load[0], load[1], load[2]);
    return failures ? 1 : 0;
}
