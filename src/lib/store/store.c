#include "store/store.h"

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* "ab/": a shard folder of the sharded layout, the only folder a name may hold. */
static int shard_prefix(const char *name)
{
    const char *hex = "0123456789abcdef";
    return name[0] && name[1] && strchr(hex, name[0]) && strchr(hex, name[1]) && name[2] == '/';
}

static int is_shard_folder(const char *name)
{
    char prefix[4] = {name[0], name[0] ? name[1] : '\0', '/', '\0'};
    return strlen(name) == 2 && shard_prefix(prefix);
}

static int mkdir_parents(char *path)
{
    for (char *p = path + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        int rc = mkdir(path, 0777);
        *p = '/';
        if (rc != 0 && errno != EEXIST)
            return -1;
    }
    if (mkdir(path, 0777) != 0 && errno != EEXIST)
        return -1;
    return 0;
}

int imgpipe_store_open_dir(const char *dir, int *dirfd, char *err)
{
    char *path = strdup(dir);
    if (!path)
        return imgpipe_errf(err, IMGPIPE_ENOMEM, "out of memory");
    int rc = mkdir_parents(path);
    free(path);
    if (rc != 0)
        return imgpipe_errf(err, IMGPIPE_EIO, "cannot create output directory '%s': %s", dir,
                            strerror(errno));
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return imgpipe_errf(err, IMGPIPE_EIO, "cannot open output directory '%s': %s", dir,
                            strerror(errno));
    *dirfd = fd;
    return IMGPIPE_OK;
}

int imgpipe_store_name_ok(const char *name)
{
    if (shard_prefix(name))
        name += 3;
    size_t n = strlen(name);
    if (n == 0 || n > 255 || name[0] == '.')
        return 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)name[i];
        if (c == '/' || c < 0x20 || c == 0x7f)
            return 0;
    }
    return 1;
}

static unsigned host_tag(void)
{
    char host[256] = "";
    gethostname(host, sizeof(host) - 1);
    return (unsigned)imgpipe_hash64(host, strlen(host));
}

/* ".imgpipe-<host>-<pid>-<random>.part": unique across threads, processes and hosts
 * sharing a mount (O_EXCL settles the rare clash), and telling the sweep whose it is. */
static void tmp_name(char *out, size_t cap, unsigned attempt)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    uint64_t mix = (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 30) ^ (uint64_t)(uintptr_t)out ^
                   ((uint64_t)attempt << 50);
    snprintf(out, cap, IMGPIPE_TMP_PREFIX "%08x-%d-%016llx.part", host_tag(), (int)getpid(),
             (unsigned long long)imgpipe_hash64(&mix, sizeof(mix)));
}

static void sweep(int dirfd, int depth)
{
    int fd = dup(dirfd);
    DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
    if (!d) {
        if (fd >= 0)
            close(fd);
        return;
    }
    unsigned me = host_tag();
    struct dirent *e;
    while ((e = readdir(d))) {
        unsigned host;
        int pid;
        if (depth == 0 && is_shard_folder(e->d_name)) {
            int sub = openat(dirfd, e->d_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
            if (sub >= 0) {
                sweep(sub, 1); /* the shard folders of the sharded layout */
                close(sub);
            }
            continue;
        }
        if (sscanf(e->d_name, IMGPIPE_TMP_PREFIX "%8x-%d-", &host, &pid) != 2 || host != me ||
            pid <= 0)
            continue;
        if (kill((pid_t)pid, 0) != 0 && errno == ESRCH)
            unlinkat(dirfd, e->d_name, 0); /* its writer is gone: it can never be renamed */
    }
    closedir(d);
}

void imgpipe_store_sweep(int dirfd)
{
    sweep(dirfd, 0);
}

/* path[0..prefix) is the folder ("" or "ab/"); the temporary name is written after it. */
static int open_tmp(int dirfd, char *path, size_t prefix, size_t cap)
{
    for (unsigned attempt = 0; attempt < 100; attempt++) {
        tmp_name(path + prefix, cap - prefix, attempt);
        int fd = openat(dirfd, path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
        if (fd >= 0 || errno != EEXIST)
            return fd;
    }
    return -1;
}

static int write_all(int fd, const unsigned char *p, size_t len)
{
    while (len > 0) {
        ssize_t w = write(fd, p, len);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            return -1;
        p += w;
        len -= (size_t)w;
    }
    return 0;
}

int imgpipe_store_write(int dirfd, const char *name, const void *data, size_t len, char *err)
{
    if (!imgpipe_store_name_ok(name))
        return imgpipe_errf(err, IMGPIPE_EINVAL, "refusing to write unsafe file name '%s'", name);
    char tmp[96];
    int shard = shard_prefix(name);
    if (shard) {
        char folder[3] = {name[0], name[1], '\0'};
        if (mkdirat(dirfd, folder, 0777) != 0 && errno != EEXIST)
            return imgpipe_errf(err, IMGPIPE_EDISK, "cannot create folder '%s': %s", folder,
                                strerror(errno));
        memcpy(tmp, name, 3); /* the temporary file goes beside its final name */
    }
    int fd = open_tmp(dirfd, tmp, shard ? 3 : 0, sizeof(tmp));
    if (fd < 0)
        return imgpipe_errf(err, IMGPIPE_EDISK, "cannot create a temporary file for '%s': %s", name,
                            strerror(errno));
    int rc = write_all(fd, data, len);
    int saved = errno;
    if (close(fd) != 0 && rc == 0) {
        rc = -1;
        saved = errno;
    }
    if (rc == 0 && renameat(dirfd, tmp, dirfd, name) != 0) {
        rc = -1;
        saved = errno;
    }
    if (rc != 0) {
        unlinkat(dirfd, tmp, 0);
        return imgpipe_errf(err, IMGPIPE_EDISK, "cannot write '%s': %s", name, strerror(saved));
    }
    return IMGPIPE_OK;
}
