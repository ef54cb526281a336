/* pag-bench-exec: run one command, report its wall time and its own peak RSS.
 *
 * Why this exists: bench/run.py needs the peak RSS of each measured tool.  A
 * child started from Python inherits the runner's RSS as the floor of its
 * ru_maxrss (Linux records the old address space's high-water mark at exec,
 * and with vfork that is the runner's), so small tools would all show the
 * runner's size.  This helper is tiny: the command is forked from it, so the
 * reported maxrss is the command's own (plus this helper's ~1 MiB at fork).
 *
 * Usage: pag-bench-exec REPORT TIMEOUT_SECONDS CMD [ARGS...]
 * The command keeps our stdin/stdout/stderr and runs in its own session; on
 * timeout its process group is killed.  REPORT gets one line:
 *   wall_s=<float> maxrss_kib=<long> status=<exit code or 128+signal>
 * Exit status: the command's (128+signal if killed), 127 if it could not run.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t timed_out;

static void on_alarm(int sig)
{
    (void)sig;
    timed_out = 1;
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: pag-bench-exec REPORT TIMEOUT_SECONDS CMD [ARGS...]\n");
        return 127;
    }
    const char *report = argv[1];
    unsigned timeout = (unsigned)strtoul(argv[2], NULL, 10);

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_alarm; /* no SA_RESTART: wait4 must return EINTR */
    sigaction(SIGALRM, &sa, NULL);

    double t0 = now();
    pid_t pid = fork();
    if (pid < 0) {
        perror("pag-bench-exec: fork");
        return 127;
    }
    if (pid == 0) {
        setsid();
        execvp(argv[3], argv + 3);
        fprintf(stderr, "pag-bench-exec: %s: %s\n", argv[3], strerror(errno));
        _exit(127);
    }
    if (timeout) alarm(timeout);

    int status = 0;
    struct rusage ru;
    memset(&ru, 0, sizeof ru);
    for (;;) {
        pid_t r = wait4(pid, &status, 0, &ru);
        if (r == pid) break;
        if (r < 0 && errno == EINTR) {
            if (timed_out) {
                kill(-pid, SIGKILL);
                kill(pid, SIGKILL);
            }
            continue;
        }
        perror("pag-bench-exec: wait4");
        return 127;
    }
    double wall = now() - t0;
    int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);

    FILE *f = fopen(report, "w");
    if (!f) {
        perror("pag-bench-exec: report");
        return 127;
    }
    fprintf(f, "wall_s=%.9f maxrss_kib=%ld status=%d timed_out=%d\n", wall, ru.ru_maxrss, code,
            (int)timed_out);
    fclose(f);
    return code;
}
