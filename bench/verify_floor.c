/* What imgpipe's promise "validated and hashed before it is in place" costs per byte, with
 * no network: for each file, what imgpipe does with a body beyond writing it (run/stream.c
 * and run/spool.c: the loop's copy of each piece into a 128 KB block, SHA-256 of the
 * blocks, the codec table's check through a mapping of the written file), timed step by
 * step in CPU seconds. curl -Z does none of it, so on a machine whose cores are all busy
 * during a download this is the least CPU imgpipe spends beyond curl. For bench/floor.sh.
 *
 * usage: verify_floor FILE...   prints one line per step and the total, in CPU seconds */
#include "common/sha256.h"
#include "image/codec.h"
#include "image/image.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static double cpu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* The whole file into buf (grown as needed), untimed: the bytes as libcurl hands them. */
static ssize_t load(const char *path, unsigned char **buf, size_t *cap)
{
    int fd = open(path, O_RDONLY);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    size_t len = (size_t)st.st_size, got = 0;
    if (len > *cap) {
        free(*buf);
        *cap = len;
        *buf = malloc(len);
        if (!*buf)
            len = 0;
    }
    while (*buf && got < len) {
        ssize_t n = pread(fd, *buf + got, len - got, (off_t)got);
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    close(fd);
    return *buf && got == len ? (ssize_t)len : -1;
}

/* The check as run_land makes it: through a mapping of the file, which pages in only what
 * the codec's walk reads. 1 when it fails. */
static int check_mapped(const char *path, size_t len)
{
    int fd = open(path, O_RDONLY), bad = 1;
    void *p = fd >= 0 && len ? mmap(NULL, len, PROT_READ, MAP_SHARED, fd, 0) : MAP_FAILED;
    if (p != MAP_FAILED) {
        const struct imgpipe_codec *codec;
        struct imgpipe_image_info info;
        char err[IMGPIPE_ERRLEN];
        bad = imgpipe_image_check(p, len, 0, &codec, &info, err) != IMGPIPE_OK;
        munmap(p, len);
    }
    if (fd >= 0)
        close(fd);
    return bad;
}

#define BLOCK (128u * 1024)

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: verify_floor FILE...\n");
        return 2;
    }
    unsigned char *buf = NULL, *block = malloc(BLOCK);
    size_t cap = 0, bytes = 0;
    double t_copy = 0, t_hash = 0, t_check = 0;
    int bad = 0;
    for (int i = 1; i < argc && block; i++) {
        ssize_t len = load(argv[i], &buf, &cap);
        if (len < 0) {
            fprintf(stderr, "verify_floor: cannot read %s\n", argv[i]);
            return 1;
        }
        imgpipe_sha256 h = {0};
        char hex[65];
        for (size_t off = 0; off < (size_t)len; off += BLOCK) {
            size_t n = (size_t)len - off < BLOCK ? (size_t)len - off : BLOCK;
            double c0 = cpu_now();
            memcpy(block, buf + off, n);
            double c1 = cpu_now();
            imgpipe_sha256_update(&h, block, n);
            t_copy += c1 - c0;
            t_hash += cpu_now() - c1;
        }
        imgpipe_sha256_final(&h, hex);
        imgpipe_sha256_free(&h);
        double t2 = cpu_now();
        bad += check_mapped(argv[i], (size_t)len);
        t_check += cpu_now() - t2;
        bytes += (size_t)len;
    }
    int n = argc - 1;
    printf("files %d bytes %zu failed_check %d\n", n, bytes, bad);
    printf("copy %.3f\nsha256 %.3f\ncheck %.3f\n", t_copy, t_hash, t_check);
    printf("total %.3f\nms_per_image %.2f\n", t_copy + t_hash + t_check,
           1000.0 * (t_copy + t_hash + t_check) / n);
    free(buf);
    free(block);
    return 0;
}
