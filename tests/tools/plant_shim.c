/* An LD_PRELOAD shim for test_store_race.sh: it plants a file at the name imgpipe is about
 * to put a download in place as, just before the call that does it, the way another
 * process would between imgpipe's name check and its rename. Test-only.
 *   PLANT_NAME   the file name (last component) to plant at; PLANT_TEXT its content
 *   PLANT_NO_RENAMEAT2=1  renameat2 fails with EINVAL (a file system without it)
 *   PLANT_NO_LINK=1       linkat fails with EPERM (a file system without hard links)
 *   PLANT_DELAY_MS=N      each of those calls is N ms late (a slow disk: the CPU pool,
 *                         which puts bodies in place, falls behind the transfers) */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void plant(int dirfd, const char *path)
{
    const char *delay = getenv("PLANT_DELAY_MS");
    if (delay)
        usleep((useconds_t)atoi(delay) * 1000);
    const char *want = getenv("PLANT_NAME"), *text = getenv("PLANT_TEXT");
    const char *leaf = strrchr(path, '/');
    leaf = leaf ? leaf + 1 : path;
    if (!want || strcmp(leaf, want) != 0)
        return;
    int fd = openat(dirfd, path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0)
        return; /* planted already (a fallback after the first way) */
    if (text && write(fd, text, strlen(text)) < 0)
        _exit(99);
    close(fd);
}

int renameat(int olddirfd, const char *oldpath, int newdirfd, const char *newpath)
{
    int (*real)(int, const char *, int, const char *) =
        (int (*)(int, const char *, int, const char *))dlsym(RTLD_NEXT, "renameat");
    plant(newdirfd, newpath);
    return real(olddirfd, oldpath, newdirfd, newpath);
}

int renameat2(int olddirfd, const char *oldpath, int newdirfd, const char *newpath,
              unsigned int flags)
{
    int (*real)(int, const char *, int, const char *, unsigned int) =
        (int (*)(int, const char *, int, const char *, unsigned int))dlsym(RTLD_NEXT, "renameat2");
    plant(newdirfd, newpath);
    if (getenv("PLANT_NO_RENAMEAT2")) {
        errno = EINVAL;
        return -1;
    }
    return real(olddirfd, oldpath, newdirfd, newpath, flags);
}

int linkat(int olddirfd, const char *oldpath, int newdirfd, const char *newpath, int flags)
{
    int (*real)(int, const char *, int, const char *, int) =
        (int (*)(int, const char *, int, const char *, int))dlsym(RTLD_NEXT, "linkat");
    plant(newdirfd, newpath);
    if (getenv("PLANT_NO_LINK")) {
        errno = EPERM;
        return -1;
    }
    return real(olddirfd, oldpath, newdirfd, newpath, flags);
}
