/* The temporary file a body is written to as it arrives: it is never under its final name
 * before the commit, a rewind starts it over, a failed commit leaves nothing behind, and
 * nothing is ever written through a link. */
#include "testutil.h"
#include "store/store.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Entries of dir whose names start with prefix. */
static int count(const char *dir, const char *prefix)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        n += strncmp(e->d_name, prefix, strlen(prefix)) == 0;
    closedir(d);
    return n;
}

static void read_file(const char *path, char *out, size_t cap)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    size_t n = fread(out, 1, cap - 1, f);
    out[n] = '\0';
    fclose(f);
}

static void test_tmp_appears_only_at_commit(void **state)
{
    (void)state;
    char *dir = testutil_tmpdir(), path[4096], got[64], err[IMGPIPE_ERRLEN];
    int dfd;
    assert_int_equal(imgpipe_store_open_dir(dir, &dfd, err), IMGPIPE_OK);
    imgpipe_store_tmp t;
    assert_int_equal(imgpipe_store_tmp_open(dfd, &t, err), IMGPIPE_OK);
    assert_int_equal(imgpipe_store_tmp_write(&t, "first attempt, cut", 18), 0);
    assert_int_equal(count(dir, IMGPIPE_TMP_PREFIX), 1);
    assert_int_equal(imgpipe_store_tmp_rewind(&t), 0); /* a retry starts over */
    assert_int_equal(imgpipe_store_tmp_write(&t, "whole", 5), 0);
    assert_int_equal(imgpipe_store_tmp_write(&t, " body", 5), 0);
    imgpipe_buf b = {0};
    assert_int_equal(imgpipe_store_tmp_read(&t, 10, &b, err), IMGPIPE_OK);
    assert_int_equal(b.len, 10);
    assert_memory_equal(b.data, "whole body", 10);
    b.len = 0; /* reused, as the pool's buffers are */
    assert_int_equal(imgpipe_store_tmp_read(&t, 11, &b, err), IMGPIPE_EIO); /* shorter */
    const void *view;
    int mapped;
    assert_int_equal(imgpipe_store_tmp_view(&t, 10, &b, &view, &mapped, err), IMGPIPE_OK);
    assert_memory_equal(view, "whole body", 10); /* mapped, or read into b */
    imgpipe_store_tmp_unview(view, 10, mapped);
    assert_int_equal(imgpipe_store_tmp_view(&t, 11, &b, &view, &mapped, err), IMGPIPE_EIO);
    assert_non_null(strstr(err, "shrank"));
    imgpipe_buf_free(&b);
    snprintf(path, sizeof(path), "%s/a.jpg", dir);
    assert_int_not_equal(access(path, F_OK), 0); /* nothing under the name before commit */
    assert_int_equal(imgpipe_store_tmp_commit(&t, "a.jpg", 0, "whole body", 10, err), IMGPIPE_OK);
    assert_int_equal(t.fd, -1);
    read_file(path, got, sizeof(got));
    assert_string_equal(got, "whole body");
    assert_int_equal(count(dir, IMGPIPE_TMP_PREFIX), 0);
    close(dfd);
    testutil_rmtree(dir);
    free(dir);
}

static void test_tmp_commit_into_shard_and_refusals(void **state)
{
    (void)state;
    char *dir = testutil_tmpdir(), path[4096], got[64], err[IMGPIPE_ERRLEN];
    int dfd;
    assert_int_equal(imgpipe_store_open_dir(dir, &dfd, err), IMGPIPE_OK);
    imgpipe_store_tmp t;
    /* a shard folder made at commit, the temporary file in DIR itself */
    assert_int_equal(imgpipe_store_tmp_open(dfd, &t, err), IMGPIPE_OK);
    assert_int_equal(imgpipe_store_tmp_write(&t, "sharded", 7), 0);
    assert_int_equal(imgpipe_store_tmp_commit(&t, "ab/x.png", 0, "sharded", 7, err), IMGPIPE_OK);
    snprintf(path, sizeof(path), "%s/ab/x.png", dir);
    read_file(path, got, sizeof(got));
    assert_string_equal(got, "sharded");
    /* a shard folder that is a link out of DIR (dangling: nothing outside can be touched):
     * refused, not followed, nothing left */
    snprintf(path, sizeof(path), "%s/cd", dir);
    assert_int_equal(symlink("/nonexistent-imgpipe-outside", path), 0);
    assert_int_equal(imgpipe_store_tmp_open(dfd, &t, err), IMGPIPE_OK);
    assert_int_equal(imgpipe_store_tmp_write(&t, "x", 1), 0);
    assert_int_not_equal(imgpipe_store_tmp_commit(&t, "cd/y.png", 0, "x", 1, err), IMGPIPE_OK);
    assert_non_null(strstr(err, "symbolic link"));
    assert_int_equal(count(dir, IMGPIPE_TMP_PREFIX), 0);
    /* an unsafe name: refused, and the temporary file removed */
    assert_int_equal(imgpipe_store_tmp_open(dfd, &t, err), IMGPIPE_OK);
    assert_int_equal(imgpipe_store_tmp_commit(&t, "../escape.png", 0, "", 0, err), IMGPIPE_EINVAL);
    assert_int_equal(count(dir, IMGPIPE_TMP_PREFIX), 0);
    /* a directory in the way of the name: that item's error, nothing left */
    snprintf(path, sizeof(path), "%s/taken.png", dir);
    assert_int_equal(mkdir(path, 0700), 0);
    assert_int_equal(imgpipe_store_tmp_open(dfd, &t, err), IMGPIPE_OK);
    assert_int_equal(imgpipe_store_tmp_write(&t, "x", 1), 0);
    assert_int_equal(imgpipe_store_tmp_commit(&t, "taken.png", 0, "x", 1, err), IMGPIPE_EIO);
    assert_int_equal(count(dir, IMGPIPE_TMP_PREFIX), 0);
    /* NOREPLACE: a file another process put at a free name since is kept, this one fails;
     * the same bytes there are another run of the same link: done */
    snprintf(path, sizeof(path), "%s/theirs.png", dir);
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0644);
    assert_true(fd >= 0 && write(fd, "theirs", 6) == 6 && close(fd) == 0);
    assert_int_equal(imgpipe_store_tmp_open(dfd, &t, err), IMGPIPE_OK);
    assert_int_equal(imgpipe_store_tmp_write(&t, "mine", 4), 0);
    assert_int_equal(
        imgpipe_store_tmp_commit(&t, "theirs.png", IMGPIPE_STORE_NOREPLACE, "mine", 4, err),
        IMGPIPE_EIO);
    assert_non_null(strstr(err, "another process"));
    read_file(path, got, sizeof(got));
    assert_string_equal(got, "theirs");
    assert_int_equal(imgpipe_store_tmp_open(dfd, &t, err), IMGPIPE_OK);
    assert_int_equal(imgpipe_store_tmp_write(&t, "theirs", 6), 0);
    assert_int_equal(
        imgpipe_store_tmp_commit(&t, "theirs.png", IMGPIPE_STORE_NOREPLACE, "theirs", 6, err),
        IMGPIPE_OK);
    assert_int_equal(count(dir, IMGPIPE_TMP_PREFIX), 0);
    /* discard: gone, and twice is harmless */
    assert_int_equal(imgpipe_store_tmp_open(dfd, &t, err), IMGPIPE_OK);
    imgpipe_store_tmp_discard(&t);
    imgpipe_store_tmp_discard(&t);
    assert_int_equal(count(dir, IMGPIPE_TMP_PREFIX), 0);
    close(dfd);
    testutil_rmtree(dir);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tmp_appears_only_at_commit),
        cmocka_unit_test(test_tmp_commit_into_shard_and_refusals),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
