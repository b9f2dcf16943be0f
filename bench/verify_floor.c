/* What imgpipe's promise "validated and hashed before it is in place" costs per byte, with
 * no network: for each file, what a pool thread does with a body spooled to disk (read it
 * back from the page cache into a reused buffer, SHA-256, the codec table's check), timed
 * step by step in CPU seconds. curl -Z does none of it, so on a machine whose cores are all
 * busy during a download this is the least CPU imgpipe spends beyond curl. For
 * bench/floor.sh.
 *
 * usage: verify_floor FILE...   prints one line per step and the total, in CPU seconds */
#include "common/sha256.h"
#include "image/codec.h"
#include "image/image.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static double cpu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* The whole file into buf (grown as needed): imgpipe_store_tmp_read's pread loop. */
static ssize_t read_back(const char *path, unsigned char **buf, size_t *cap)
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

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: verify_floor FILE...\n");
        return 2;
    }
    unsigned char *buf = NULL;
    size_t cap = 0, bytes = 0;
    double t_read = 0, t_hash = 0, t_check = 0;
    int bad = 0;
    for (int i = 1; i < argc; i++) {
        double t0 = cpu_now();
        ssize_t len = read_back(argv[i], &buf, &cap);
        double t1 = cpu_now();
        if (len < 0) {
            fprintf(stderr, "verify_floor: cannot read %s\n", argv[i]);
            return 1;
        }
        char hex[65];
        imgpipe_sha256_hex(buf, (size_t)len, hex);
        double t2 = cpu_now();
        const struct imgpipe_codec *codec;
        struct imgpipe_image_info info;
        char err[IMGPIPE_ERRLEN];
        bad += imgpipe_image_check(buf, (size_t)len, 0, &codec, &info, err) != IMGPIPE_OK;
        double t3 = cpu_now();
        t_read += t1 - t0, t_hash += t2 - t1, t_check += t3 - t2;
        bytes += (size_t)len;
    }
    int n = argc - 1;
    printf("files %d bytes %zu failed_check %d\n", n, bytes, bad);
    printf("read_back %.3f\nsha256 %.3f\ncheck %.3f\n", t_read, t_hash, t_check);
    printf("total %.3f\nms_per_image %.2f\n", t_read + t_hash + t_check,
           1000.0 * (t_read + t_hash + t_check) / n);
    free(buf);
    return 0;
}
