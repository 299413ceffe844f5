/* Processes: fork with wait status, a forked child's copy of memory, vfork-style
 * posix_spawn and system() (both exec), execve of this program itself and of a missing file,
 * waitid, and pipes between parent and child. */
#define _GNU_SOURCE
#include <errno.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;
static int counter = 100;

int main(int argc, char **argv) {
    if (argc > 1 && strcmp(argv[1], "child") == 0) {
        /* started through execve/posix_spawn */
        printf("exec'd child argv[0]=%s args=%d extra=%s env=%s\n",
               strchr(argv[0], '/') ? "(a path)" : argv[0], argc,
               argc > 2 ? argv[2] : "-", getenv("PROCS_T") ? getenv("PROCS_T") : "unset");
        fflush(stdout);
        return 7;
    }
    setvbuf(stdout, NULL, _IONBF, 0);

    /* fork: the child sees a copy; its exit status comes back through wait4 */
    int fds[2];
    pipe(fds);
    pid_t pid = fork();
    if (pid == 0) {
        counter += 1;
        close(fds[0]);
        char msg[64];
        int n = snprintf(msg, sizeof msg, "child counter %d ppid-is-parent %d", counter,
                         getppid() > 1);
        write(fds[1], msg, n);
        _exit(42);
    }
    close(fds[1]);
    char buf[64] = {0};
    read(fds[0], buf, sizeof buf - 1);
    int status = 0;
    pid_t w = waitpid(pid, &status, 0);
    printf("fork: got '%s'; parent counter %d; waited same pid %d exited %d status %d\n", buf,
           counter, w == pid, WIFEXITED(status), WEXITSTATUS(status));

    /* a child killed by a signal */
    pid = fork();
    if (pid == 0) {
        raise(SIGTERM);
        _exit(0);
    }
    waitpid(pid, &status, 0);
    printf("signalled %d sig %d\n", WIFSIGNALED(status), WTERMSIG(status));

    /* posix_spawn of this same program (glibc uses clone(CLONE_VM|CLONE_VFORK)) */
    char *cargv[] = {argv[0], "child", "spawned", NULL};
    char *cenv[] = {"PROCS_T=from-spawn", NULL};
    int r = posix_spawn(&pid, "/proc/self/exe", NULL, NULL, cargv, cenv);
    waitpid(pid, &status, 0);
    printf("posix_spawn r=%d exit %d\n", r, WEXITSTATUS(status));

    /* fork + execve; then execve of a missing file fails with ENOENT in the child */
    pid = fork();
    if (pid == 0) {
        char *eargv[] = {"renamed-child", "child", "execve", NULL};
        setenv("PROCS_T", "from-execve", 1);
        execve("/proc/self/exe", eargv, environ);
        _exit(99);
    }
    waitpid(pid, &status, 0);
    printf("execve child exit %d\n", WEXITSTATUS(status));
    pid = fork();
    if (pid == 0) {
        char *eargv[] = {"nothing", NULL};
        execve("/nonexistent/elfjit-program", eargv, environ);
        _exit(errno == ENOENT ? 3 : 4);
    }
    waitpid(pid, &status, 0);
    printf("missing execve exit %d\n", WEXITSTATUS(status));

    /* system() runs /bin/sh -c: a host shell, exec'd natively */
    status = system("exit 5");
    printf("system exit %d\n", WEXITSTATUS(status));

    /* waitid on an already-exited child */
    pid = fork();
    if (pid == 0) _exit(9);
    siginfo_t si;
    memset(&si, 0, sizeof si);
    r = waitid(P_PID, pid, &si, WEXITED);
    printf("waitid r=%d code %d status %d pid ok %d\n", r, si.si_code, si.si_status,
           si.si_pid == pid);
    r = (int)wait(NULL);
    printf("no more children: %d %s\n", r, strerror(errno));
    return 0;
}
