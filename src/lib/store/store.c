#define _GNU_SOURCE /* renameat2 and RENAME_NOREPLACE (glibc 2.28) */
#include "store/store.h"
#include "common/sha256.h"

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/vfs.h>
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

int imgpipe_store_subdir(int dirfd, const char *name, int create, int *out, char *err)
{
    if (create && mkdirat(dirfd, name, 0777) != 0 && errno != EEXIST)
        return imgpipe_errf(err, imgpipe_store_errno_code(errno), "cannot create folder '%s': %s",
                            name, strerror(errno));
    *out = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (*out >= 0)
        return IMGPIPE_OK;
    struct stat st;
    if ((errno == ELOOP || errno == ENOTDIR) &&
        fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode))
        return imgpipe_errf(err, IMGPIPE_EIO,
                            "'%s' is a symbolic link: refusing to follow it out of the output "
                            "directory",
                            name);
    return imgpipe_errf(err, imgpipe_store_errno_code(errno), "cannot open folder '%s': %s", name,
                        strerror(errno));
}

int imgpipe_store_errno_code(int e)
{
    /* Every later write in the directory would fail alike: the run's error, not the item's.
     * ENOENT where the directory itself is written means it was removed under the run.
     * Others (a directory in the way, a file over the size limit, a name too long) are the
     * item's. */
    return e == ENOSPC || e == EDQUOT || e == EROFS || e == EIO || e == EACCES || e == EPERM ||
                   e == ENOENT
               ? IMGPIPE_EDISK
               : IMGPIPE_EIO;
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
    rewinddir(d); /* the duplicate shares its offset: an earlier sweep left it at the end */
    unsigned me = host_tag();
    struct dirent *e;
    while ((e = readdir(d))) {
        unsigned host;
        int pid;
        if (depth == 0 && is_shard_folder(e->d_name)) {
            int sub = openat(dirfd, e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
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

static int open_tmp(int dirfd, char *path, size_t cap)
{
    /* Read and write: a spooled body is mapped for its check before it is put in place. */
    for (unsigned attempt = 0; attempt < 100; attempt++) {
        tmp_name(path, cap, attempt);
        int fd = openat(dirfd, path, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
        if (fd >= 0 || errno != EEXIST)
            return fd;
    }
    return -1;
}

int imgpipe_store_tmp_open(int dirfd, imgpipe_store_tmp *t, char *err)
{
    t->dirfd = dirfd;
    t->fd = open_tmp(dirfd, t->path, sizeof(t->path));
    if (t->fd >= 0)
        return IMGPIPE_OK;
    int e = errno, rc = imgpipe_errf(err, imgpipe_store_errno_code(e),
                                     "cannot create a temporary file: %s", strerror(e));
    errno = e;
    return rc;
}

int imgpipe_store_tmp_write(imgpipe_store_tmp *t, const void *data, size_t len)
{
    const unsigned char *p = data;
    while (len > 0) {
        ssize_t w = write(t->fd, p, len);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            return errno;
        p += w;
        len -= (size_t)w;
    }
    return 0;
}

/* 1 when the file system refused the call itself (not the name): try the next way. */
static int unsupported(int e)
{
    return e == EINVAL || e == ENOSYS || e == EOPNOTSUPP || e == ENOTSUP || e == EPERM ||
           e == EXDEV;
}

/* Puts tmp in place as leaf unless something is there: atomically where the file system
 * can (renameat2's RENAME_NOREPLACE; a hard link, which fails on an existing name), else
 * with a check just before the rename. -1 with errno (EEXIST when something was there). */
static int rename_new(int from_dir, const char *tmp, int fd_dir, const char *leaf)
{
#ifdef RENAME_NOREPLACE
    if (renameat2(from_dir, tmp, fd_dir, leaf, RENAME_NOREPLACE) == 0)
        return 0;
    if (!unsupported(errno))
        return -1;
#endif
    if (linkat(from_dir, tmp, fd_dir, leaf, 0) == 0) {
        unlinkat(from_dir, tmp, 0);
        return 0;
    }
    if (!unsupported(errno))
        return -1;
    struct stat st;
    if (fstatat(fd_dir, leaf, &st, AT_SYMLINK_NOFOLLOW) == 0) {
        errno = EEXIST;
        return -1;
    }
    return renameat(from_dir, tmp, fd_dir, leaf);
}

/* 1 when leaf is a regular file holding exactly data: another run wrote the same file. */
static int same_content(int fd_dir, const char *leaf, const unsigned char *data, size_t len)
{
    int fd = openat(fd_dir, leaf, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    struct stat st;
    int same = fd >= 0 && fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && (size_t)st.st_size == len;
    unsigned char buf[65536];
    for (size_t off = 0; same && off < len;) {
        ssize_t n = read(fd, buf, sizeof(buf));
        same = n > 0 && (size_t)n <= len - off && memcmp(buf, data + off, (size_t)n) == 0;
        off += n > 0 ? (size_t)n : 0;
    }
    if (fd >= 0)
        close(fd);
    return same;
}

/* 0, -1 with errno, or 1 when another process was first with other bytes (err says so). */
static int put_in_place(int from_dir, const char *tmp, int fd_dir, const char *leaf, int flags,
                        const void *data, size_t len, char *err, const char *name)
{
    int rc = flags & IMGPIPE_STORE_NOREPLACE ? rename_new(from_dir, tmp, fd_dir, leaf)
                                             : renameat(from_dir, tmp, fd_dir, leaf);
    if (rc == 0 || errno != EEXIST)
        return rc;
    unlinkat(from_dir, tmp, 0);
    if (same_content(fd_dir, leaf, data, len))
        return 0; /* another run of the same link was first: nothing to replace */
    imgpipe_errf(err, IMGPIPE_EIO,
                 "cannot write '%s': a file appeared at that name while it was downloaded "
                 "(another process wrote it): not replaced",
                 name);
    return 1;
}

int imgpipe_store_tmp_rewind(imgpipe_store_tmp *t)
{
    if (ftruncate(t->fd, 0) != 0 || lseek(t->fd, 0, SEEK_SET) != 0)
        return errno;
    return 0;
}

/* For a check where the file is not mapped (imgpipe_store_tmp_view): a copy of every byte,
 * where a mapping pages in only what the check reads. */
int imgpipe_store_tmp_read(const imgpipe_store_tmp *t, size_t len, imgpipe_buf *b, char *err)
{
    if (imgpipe_buf_reserve(b, len) != IMGPIPE_OK)
        return imgpipe_errf(err, IMGPIPE_ENOMEM, "out of memory reading back %zu bytes", len);
    for (size_t got = 0; got < len;) {
        ssize_t n = pread(t->fd, b->data + b->len, len - got, (off_t)got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return imgpipe_errf(err, IMGPIPE_EIO, "cannot read back the body received: %s",
                                n < 0 ? strerror(errno) : "the temporary file shrank");
        got += (size_t)n;
        b->len += (size_t)n;
    }
    return IMGPIPE_OK;
}

/* File systems whose pages fail only with the machine's own disk: a mapping of a file
 * there is as safe as a read (Linux magic numbers, linux/magic.h). */
static int local_fs(int fd)
{
    /* clang-format off */
    static const unsigned long local[] = {
        0x01021994, /* tmpfs */
        0x858458f6, /* ramfs */
        0xEF53,     /* ext2, ext3, ext4 */
        0x58465342, /* xfs */
        0x9123683E, /* btrfs */
        0xF2F52010, /* f2fs */
        0x2FC12FC1, /* zfs */
        0x794c7630, /* overlayfs (containers) */
    };
    /* clang-format on */
    struct statfs sf;
    if (fstatfs(fd, &sf) != 0)
        return 0;
    for (size_t i = 0; i < sizeof(local) / sizeof(local[0]); i++)
        if ((unsigned long)sf.f_type == local[i])
            return 1;
    return 0;
}

int imgpipe_store_tmp_view(const imgpipe_store_tmp *t, size_t len, imgpipe_buf *scratch,
                           const void **data, int *mapped, char *err)
{
    struct stat st;
    *data = NULL;
    *mapped = 0;
    if (len == 0)
        return IMGPIPE_OK;
    if (fstat(t->fd, &st) != 0)
        return imgpipe_errf(err, IMGPIPE_EIO, "cannot read back the body received: %s",
                            strerror(errno));
    if (st.st_size < 0 || (uint64_t)st.st_size < len)
        return imgpipe_errf(err, IMGPIPE_EIO, "cannot read back the body received: %s",
                            "the temporary file shrank");
    void *p = local_fs(t->fd) ? mmap(NULL, len, PROT_READ, MAP_SHARED, t->fd, 0) : MAP_FAILED;
    if (p != MAP_FAILED) {
        *data = p;
        *mapped = 1;
        return IMGPIPE_OK;
    }
    scratch->len = 0;
    int rc = imgpipe_store_tmp_read(t, len, scratch, err);
    *data = rc == IMGPIPE_OK ? scratch->data : NULL;
    return rc;
}

void imgpipe_store_tmp_unview(const void *data, size_t len, int mapped)
{
    if (mapped && data)
        munmap((void *)data, len);
}

void imgpipe_store_tmp_discard(imgpipe_store_tmp *t)
{
    if (t->fd < 0)
        return;
    close(t->fd);
    unlinkat(t->dirfd, t->path, 0);
    t->fd = -1;
}

/* Closes t and renames it to leaf in to_dir (on the same file system as t's directory);
 * data is its content, compared with a file found at leaf under NOREPLACE. */
static int commit_in(imgpipe_store_tmp *t, int to_dir, const char *leaf, const char *name,
                     int flags, const void *data, size_t len, char *err)
{
    int rc = close(t->fd), saved = errno;
    t->fd = -1;
    if (rc == 0 &&
        (rc = put_in_place(t->dirfd, t->path, to_dir, leaf, flags, data, len, err, name)) > 0)
        return IMGPIPE_EIO; /* err says who was there first */
    if (rc != 0) {
        saved = errno;
        unlinkat(t->dirfd, t->path, 0);
        return imgpipe_errf(err, imgpipe_store_errno_code(saved), "cannot write '%s': %s", name,
                            strerror(saved));
    }
    return IMGPIPE_OK;
}

int imgpipe_store_tmp_commit(imgpipe_store_tmp *t, const char *name, int flags, const void *data,
                             size_t len, char *err)
{
    if (!imgpipe_store_name_ok(name)) {
        imgpipe_store_tmp_discard(t);
        return imgpipe_errf(err, IMGPIPE_EINVAL, "refusing to write unsafe file name '%s'", name);
    }
    if (!shard_prefix(name))
        return commit_in(t, t->dirfd, name, name, flags, data, len, err);
    char folder[3] = {name[0], name[1], '\0'};
    int sub, rc = imgpipe_store_subdir(t->dirfd, folder, 1, &sub, err);
    if (rc) {
        imgpipe_store_tmp_discard(t);
        return rc;
    }
    rc = commit_in(t, sub, name + 3, name, flags, data, len, err);
    close(sub);
    return rc;
}

/* The temporary file and the rename happen in the name's own folder, opened without
 * following a link: a shard folder that is a symbolic link is refused, never followed. */
static int write_in(int fd_dir, const char *leaf, const char *name, const void *data, size_t len,
                    int flags, char *err)
{
    imgpipe_store_tmp t = {.dirfd = fd_dir};
    if ((t.fd = open_tmp(fd_dir, t.path, sizeof(t.path))) < 0)
        return imgpipe_errf(err, imgpipe_store_errno_code(errno),
                            "cannot create a temporary file for '%s': %s", name, strerror(errno));
    int saved = imgpipe_store_tmp_write(&t, data, len);
    if (saved) {
        imgpipe_store_tmp_discard(&t);
        return imgpipe_errf(err, imgpipe_store_errno_code(saved), "cannot write '%s': %s", name,
                            strerror(saved));
    }
    return commit_in(&t, fd_dir, leaf, name, flags, data, len, err);
}

int imgpipe_store_write(int dirfd, const char *name, const void *data, size_t len, char *err)
{
    return imgpipe_store_put(dirfd, name, data, len, 0, err);
}

int imgpipe_store_put(int dirfd, const char *name, const void *data, size_t len, int flags,
                      char *err)
{
    if (!imgpipe_store_name_ok(name))
        return imgpipe_errf(err, IMGPIPE_EINVAL, "refusing to write unsafe file name '%s'", name);
    if (!shard_prefix(name))
        return write_in(dirfd, name, name, data, len, flags, err);
    char folder[3] = {name[0], name[1], '\0'};
    int sub, rc = imgpipe_store_subdir(dirfd, folder, 1, &sub, err);
    if (rc)
        return rc;
    rc = write_in(sub, name + 3, name, data, len, flags, err);
    close(sub);
    return rc;
}

/* The folder a relative name lives in (dirfd, or its shard folder opened without following
 * a link) and its last component. *sub is -1 when no folder was opened. */
static int folder_of(int dirfd, const char *name, int *sub, const char **leaf)
{
    *sub = -1;
    *leaf = name;
    if (!shard_prefix(name))
        return dirfd;
    char folder[3] = {name[0], name[1], '\0'};
    *sub = openat(dirfd, folder, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    *leaf = name + 3;
    return *sub;
}

int imgpipe_store_exists(int dirfd, const char *name)
{
    int sub;
    const char *leaf;
    int fd = folder_of(dirfd, name, &sub, &leaf);
    struct stat st;
    int there = fd >= 0 && fstatat(fd, leaf, &st, AT_SYMLINK_NOFOLLOW) == 0;
    if (sub >= 0)
        close(sub);
    return there;
}

/* Reads fd into b (from b->len on) until `upto` bytes of this file are there or it ends
 * (*eof then set), growing b as it goes and refusing more than max bytes. */
static int read_upto(int fd, uint64_t max, size_t start, size_t upto, imgpipe_buf *b, int *eof,
                     char *err)
{
    while (b->len - start < upto) {
        if (b->len == b->cap && imgpipe_buf_reserve(b, 65536) != IMGPIPE_OK)
            return imgpipe_errf(err, IMGPIPE_ENOMEM, "out of memory");
        size_t room = b->cap - b->len, want = upto - (b->len - start);
        ssize_t n = read(fd, b->data + b->len, room < want ? room : want);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return imgpipe_errf(err, IMGPIPE_EIO, "cannot read: %s", strerror(errno));
        if (n == 0) {
            *eof = 1;
            return IMGPIPE_OK;
        }
        if ((b->len += (size_t)n) - start > max)
            return imgpipe_errf(err, IMGPIPE_ETOOBIG, "grew over %llu bytes while read",
                                (unsigned long long)max);
    }
    return IMGPIPE_OK;
}

static int read_fd(int fd, uint64_t max, imgpipe_store_head_fn check, void *arg, imgpipe_buf *b,
                   char *err)
{
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
        return imgpipe_errf(err, IMGPIPE_EIO, "not a regular file");
    if ((uint64_t)st.st_size > max)
        return imgpipe_errf(err, IMGPIPE_ETOOBIG, "larger than %llu bytes",
                            (unsigned long long)max);
    /* With a check, only the head of a large file is read (and memory taken for) until the
     * check passes: gigabytes of zeros under an image's name cost one small read, not their
     * size. A small file (or one whose size says nothing, 0) is read whole first. */
    size_t start = b->len, size = (size_t)st.st_size;
    int big = check && size > IMGPIPE_STORE_HEAD;
    int eof = 0, rc = imgpipe_buf_reserve(b, big ? IMGPIPE_STORE_HEAD : size + 1) != IMGPIPE_OK
                          ? imgpipe_errf(err, IMGPIPE_ENOMEM, "out of memory")
                          : read_upto(fd, max, start, big ? IMGPIPE_STORE_HEAD : SIZE_MAX - start,
                                      b, &eof, err);
    if (!rc && check)
        rc = check(arg, b->data + start, b->len - start, (uint64_t)size, err);
    if (!rc && !eof && imgpipe_buf_reserve(b, size + 1 - (b->len - start)) != IMGPIPE_OK)
        rc = imgpipe_errf(err, IMGPIPE_ENOMEM, "out of memory");
    if (!rc && !eof)
        rc = read_upto(fd, max, start, SIZE_MAX - start, b, &eof, err);
    return rc;
}

/* The digest of what fd holds from where it is to its end: 0, or -1 on a read error. */
static int digest_fd(int fd, char hex[65])
{
    imgpipe_sha256 h = {0};
    unsigned char buf[65536];
    ssize_t n;
    while ((n = read(fd, buf, sizeof(buf))) != 0) {
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            break;
        imgpipe_sha256_update(&h, buf, (size_t)n);
    }
    imgpipe_sha256_final(&h, hex);
    imgpipe_sha256_free(&h);
    return n == 0 && hex[0] ? 0 : -1;
}

/* Whether the regular file leaf in at holds the bytes of digest sha256: 1, -1 other bytes
 * (or a link put there since), -2 when it cannot be read. */
static int same_digest(int at, const char *leaf, const char *sha256)
{
    int fd = openat(at, leaf, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0)
        return errno == ELOOP ? -1 : -2;
    char hex[65];
    int rc = digest_fd(fd, hex) != 0 ? -2 : strcmp(hex, sha256) == 0 ? 1 : -1;
    close(fd);
    return rc;
}

int imgpipe_store_holds(int dirfd, const char *name, const char *sha256, uint64_t len)
{
    int sub;
    const char *leaf;
    int at = folder_of(dirfd, name, &sub, &leaf);
    if (at < 0) /* no shard folder: free; a link or a file in its place: something else */
        return errno == ENOENT ? 0 : errno == ELOOP || errno == ENOTDIR ? -1 : -2;
    struct stat st;
    int rc;
    if (fstatat(at, leaf, &st, AT_SYMLINK_NOFOLLOW) != 0)
        rc = errno == ENOENT ? 0 : -2;
    else if (!S_ISREG(st.st_mode) || (uint64_t)st.st_size != len)
        rc = -1;
    else
        rc = same_digest(at, leaf, sha256);
    if (sub >= 0)
        close(sub);
    return rc;
}

int imgpipe_store_remove(int dirfd, const char *name)
{
    int sub;
    const char *leaf;
    int at = folder_of(dirfd, name, &sub, &leaf);
    int rc = at < 0 ? -1 : unlinkat(at, leaf, 0);
    int saved = errno;
    if (sub >= 0)
        close(sub);
    errno = saved;
    return rc;
}

int imgpipe_store_read_checked(int dirfd, const char *name, uint64_t max,
                               imgpipe_store_head_fn check, void *arg, imgpipe_buf *b, char *err)
{
    int sub;
    const char *leaf;
    int at = folder_of(dirfd, name, &sub, &leaf);
    /* O_NONBLOCK: opening a FIFO planted under an image's name must not wait for a
     * writer; it is then refused as not a regular file. */
    int fd = at < 0 ? -1 : openat(at, leaf, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    int saved = errno;
    if (sub >= 0)
        close(sub);
    if (fd < 0)
        return imgpipe_errf(err, IMGPIPE_EIO, "cannot open: %s",
                            saved == ELOOP ? "it is a symbolic link, not followed"
                                           : strerror(saved));
    int rc = read_fd(fd, max, check, arg, b, err);
    close(fd);
    return rc;
}

int imgpipe_store_read(int dirfd, const char *name, uint64_t max, imgpipe_buf *b, char *err)
{
    return imgpipe_store_read_checked(dirfd, name, max, NULL, NULL, b, err);
}
