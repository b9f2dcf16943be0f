/* An LD_PRELOAD shim for test_interrupts.sh: flock() as Linux's NFS client does it, a POSIX
 * lock on the whole file (fcntl), which is the process's and goes away when the process
 * closes any descriptor of that file, a dup too. Test-only.
 *   NFSLOCK_REPORT  a file written when a ledger is cut (ftruncate) while no lock of this
 *                   process is on it: another run could be appending a line there */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <unistd.h>

int flock(int fd, int op)
{
    struct flock l = {.l_whence = SEEK_SET};
    int how = op & ~LOCK_NB;
    l.l_type = how == LOCK_SH ? F_RDLCK : how == LOCK_EX ? F_WRLCK : F_UNLCK;
    return fcntl(fd, op & LOCK_NB ? F_SETLK : F_SETLKW, &l);
}

static int is_ledger(int fd)
{
    char link[64], path[4096];
    snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
    ssize_t n = readlink(link, path, sizeof(path) - 1);
    if (n <= 0)
        return 0;
    path[n] = '\0';
    const char *leaf = strrchr(path, '/');
    return leaf && strcmp(leaf, "/ledger") == 0;
}

/* Whether this process holds a lock on fd's file, as another process sees it. */
static int locked(int fd)
{
    pid_t pid = fork();
    if (pid == 0) {
        struct flock l = {.l_type = F_WRLCK, .l_whence = SEEK_SET};
        _exit(fcntl(fd, F_GETLK, &l) == 0 && l.l_type == F_UNLCK ? 1 : 0);
    }
    int st = 0;
    return pid > 0 && waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0;
}

static int (*real_ftruncate)(int, off_t);

static void check(int fd, off_t len)
{
    const char *report = getenv("NFSLOCK_REPORT");
    if (report && is_ledger(fd) && !locked(fd)) {
        FILE *f = fopen(report, "a");
        if (f) {
            fprintf(f, "ledger cut to %lld bytes without its lock\n", (long long)len);
            fclose(f);
        }
    }
}

/* ftruncate64 too: a program built with _FILE_OFFSET_BITS=64 calls that one. */
int ftruncate(int fd, off_t len)
{
    if (!real_ftruncate)
        real_ftruncate = (int (*)(int, off_t))dlsym(RTLD_NEXT, "ftruncate");
    check(fd, len);
    return real_ftruncate(fd, len);
}

int ftruncate64(int fd, off_t len)
{
    return ftruncate(fd, len);
}
