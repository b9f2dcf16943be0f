#include "store/ledger.h"
#include "store/name.h"
#include "store/store.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#define LEDGER_DIR ".imgpipe"
#define LEDGER_FILE ".imgpipe/ledger"

struct entry {
    uint64_t url_hash; /* 0: empty slot */
    uint64_t bytes;
    char *name; /* for DONE */
    enum imgpipe_ledger_state state;
    uint32_t failed_pos; /* for FAILED: its place in the failed list (keeps an entry 32 bytes) */
};

/* Which URL a name was last stored for: so that a later run never gives it to another. */
struct owner {
    uint64_t name_key, url_hash; /* name_key 0: empty slot */
};

struct imgpipe_ledger {
    int fd;
    struct entry *slots;
    size_t cap, used;
    struct owner *owners;
    size_t owners_cap, owners_used;
    imgpipe_strvec failed; /* URLs of failed lines, in ledger order, for --retry-failed */
    int keep_failed;       /* only then: a run's memory does not grow with old failures */
};

/* A URL is known by the form the ledger stores, its password hidden (imgpipe_redact): a
 * rerun with the password finds what the ledger recorded without it. */
static uint64_t url_key(const char *url)
{
    char *shown = imgpipe_has_userinfo(url) ? imgpipe_redact_dup(url) : NULL;
    const char *key = shown ? shown : url;
    uint64_t h = imgpipe_hash64(key, strlen(key));
    free(shown);
    return h ? h : 1;
}

static struct entry *find(const imgpipe_ledger *l, uint64_t key)
{
    size_t i = (size_t)(key & (l->cap - 1));
    while (l->slots[i].url_hash && l->slots[i].url_hash != key)
        i = (i + 1) & (l->cap - 1);
    return &l->slots[i];
}

static int grow(imgpipe_ledger *l)
{
    size_t cap = l->cap ? l->cap * 2 : 1024;
    struct entry *old = l->slots;
    size_t old_cap = l->cap;
    if (!(l->slots = calloc(cap, sizeof(*l->slots)))) {
        l->slots = old;
        return IMGPIPE_ENOMEM;
    }
    l->cap = cap;
    for (size_t i = 0; i < old_cap; i++)
        if (old[i].url_hash)
            *find(l, old[i].url_hash) = old[i];
    free(old);
    return IMGPIPE_OK;
}

static struct owner *find_owner(const imgpipe_ledger *l, uint64_t key)
{
    size_t i = (size_t)(key & (l->owners_cap - 1));
    while (l->owners[i].name_key && l->owners[i].name_key != key)
        i = (i + 1) & (l->owners_cap - 1);
    return &l->owners[i];
}

static int grow_owners(imgpipe_ledger *l)
{
    size_t cap = l->owners_cap ? l->owners_cap * 2 : 1024;
    struct owner *old = l->owners;
    size_t old_cap = l->owners_cap;
    if (!(l->owners = calloc(cap, sizeof(*l->owners)))) {
        l->owners = old;
        return IMGPIPE_ENOMEM;
    }
    l->owners_cap = cap;
    for (size_t i = 0; i < old_cap; i++)
        if (old[i].name_key)
            *find_owner(l, old[i].name_key) = old[i];
    free(old);
    return IMGPIPE_OK;
}

static int remember_owner(imgpipe_ledger *l, const char *name, uint64_t url_hash)
{
    if ((l->owners_used + 1) * 4 > l->owners_cap * 3 && grow_owners(l))
        return IMGPIPE_ENOMEM;
    struct owner *o = find_owner(l, imgpipe_name_key(name));
    if (!o->name_key)
        l->owners_used++;
    *o = (struct owner){imgpipe_name_key(name), url_hash};
    return IMGPIPE_OK;
}

static int remember(imgpipe_ledger *l, const char *url, enum imgpipe_ledger_state state,
                    uint64_t bytes, const char *name)
{
    if ((l->used + 1) * 4 > l->cap * 3 && grow(l))
        return IMGPIPE_ENOMEM;
    uint64_t key = url_key(url);
    struct entry *e = find(l, key);
    char *copy = state == IMGPIPE_LEDGER_DONE ? strdup(name) : NULL;
    if (state == IMGPIPE_LEDGER_DONE && !copy)
        return IMGPIPE_ENOMEM;
    if (!e->url_hash)
        l->used++;
    free(e->name);
    *e = (struct entry){.url_hash = key, .bytes = bytes, .name = copy, .state = state};
    if (state == IMGPIPE_LEDGER_FAILED) {
        e->failed_pos = (uint32_t)l->failed.n;
        return l->keep_failed ? imgpipe_strvec_push(&l->failed, url) : IMGPIPE_OK;
    }
    return remember_owner(l, name, key);
}

/* Tabs, newlines and backslashes in a field are escaped, so a line is always one line of
 * tab-separated fields whatever a URL or an error holds. */
static void unescape(char *s)
{
    char *w = s;
    for (char *r = s; *r; r++) {
        if (*r == '\\' && r[1]) {
            r++;
            *w++ = *r == 't' ? '\t' : *r == 'n' ? '\n' : *r;
        } else {
            *w++ = *r;
        }
    }
    *w = '\0';
}

static void escape_into(imgpipe_buf *b, const char *s)
{
    for (; *s; s++) {
        const char *rep = *s == '\t' ? "\\t" : *s == '\n' ? "\\n" : *s == '\\' ? "\\\\" : NULL;
        imgpipe_buf_append(b, rep ? rep : s, rep ? 2 : 1);
    }
}

int imgpipe_ledger_parse_line(char *line, enum imgpipe_ledger_state *state, uint64_t *bytes,
                              char **name, char **url)
{
    char *f[5];
    for (int i = 0; i < 5; i++) {
        f[i] = line;
        char *tab = strchr(line, '\t');
        if (!tab && i < 4)
            return -1;
        if (tab) {
            *tab = '\0';
            line = tab + 1;
        }
    }
    if (strcmp(f[0], "done") == 0)
        *state = IMGPIPE_LEDGER_DONE;
    else if (strcmp(f[0], "failed") == 0)
        *state = IMGPIPE_LEDGER_FAILED;
    else
        return -1;
    char *end;
    *bytes = strtoull(f[1], &end, 10);
    if (*end || end == f[1])
        return -1;
    unescape(f[3]);
    unescape(f[4]);
    *name = f[3];
    *url = f[4];
    return **url ? 0 : -1;
}

/* The lines of the ledger, read under load's lock. A last line without its newline (a
 * run killed mid-write) is cut off, so the next append starts a line of its own; a file
 * that ends whole is left as it is. */
static int load_locked(imgpipe_ledger *l, char *err)
{
    FILE *f = fdopen(dup(l->fd), "r");
    if (!f)
        return imgpipe_errf(err, IMGPIPE_EIO, "cannot read %s: %s", LEDGER_FILE, strerror(errno));
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    off_t whole = 0;
    int rc = IMGPIPE_OK;
    while (rc == IMGPIPE_OK && (n = getline(&line, &cap, f)) > 0 && line[n - 1] == '\n') {
        whole += n;
        line[n - 1] = '\0';
        enum imgpipe_ledger_state st;
        uint64_t bytes;
        char *name, *url;
        if (imgpipe_ledger_parse_line(line, &st, &bytes, &name, &url) == 0)
            rc = remember(l, url, st, bytes, name);
    }
    free(line);
    struct stat st;
    if (rc == IMGPIPE_OK && fstat(l->fd, &st) == 0 && st.st_size > whole &&
        ftruncate(l->fd, whole) != 0)
        rc = imgpipe_errf(err, IMGPIPE_EDISK, "cannot repair %s: %s", LEDGER_FILE, strerror(errno));
    /* Closed only now: where flock is a POSIX lock of the process (NFS), closing the
     * duplicate would let the lock go, and the cut would take a line another run wrote. */
    fclose(f);
    return rc == IMGPIPE_ENOMEM ? imgpipe_errf(err, rc, "out of memory reading the ledger") : rc;
}

/* Runs into one DIR at once share its ledger: each appends under a shared lock and reads
 * it under an exclusive one, so a line another run is writing is never taken for a torn
 * one, and no line appended while the ledger is read is cut off with it. */
static int load(imgpipe_ledger *l, char *err)
{
    flock(l->fd, LOCK_EX); /* where locks are not supported: one run at a time, as before */
    int rc = load_locked(l, err);
    flock(l->fd, LOCK_UN);
    return rc;
}

/* DIR/.imgpipe and its ledger, neither followed if a link was planted there: the ledger
 * is written only inside DIR. */
static int open_file(int dirfd, int *out, char *err)
{
    char why[IMGPIPE_ERRLEN];
    int sub, rc = imgpipe_store_subdir(dirfd, LEDGER_DIR, 1, &sub, why);
    if (rc)
        return imgpipe_errf(err, IMGPIPE_EDISK, "the ledger's folder: %s", why);
    *out = openat(sub, "ledger", O_RDWR | O_CREAT | O_APPEND | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC,
                  0644);
    int saved = errno;
    close(sub);
    struct stat st;
    if (*out < 0 && saved == ELOOP)
        return imgpipe_errf(err, IMGPIPE_EDISK,
                            "%s is a symbolic link: refusing to follow it out of the output "
                            "directory",
                            LEDGER_FILE);
    if (*out < 0)
        return imgpipe_errf(err, IMGPIPE_EDISK, "cannot open %s: %s", LEDGER_FILE, strerror(saved));
    if (fstat(*out, &st) != 0 || !S_ISREG(st.st_mode))
        return imgpipe_errf(err, IMGPIPE_EDISK, "%s is not a regular file", LEDGER_FILE);
    return IMGPIPE_OK;
}

int imgpipe_ledger_open(int dirfd, int keep_failed, imgpipe_ledger **out, char *err)
{
    *out = NULL;
    imgpipe_ledger *l = calloc(1, sizeof(*l));
    if (!l || grow(l) || grow_owners(l)) {
        imgpipe_ledger_free(l);
        return imgpipe_errf(err, IMGPIPE_ENOMEM, "out of memory");
    }
    l->keep_failed = keep_failed;
    l->fd = -1;
    int rc = open_file(dirfd, &l->fd, err);
    if (rc == IMGPIPE_OK)
        rc = load(l, err);
    if (rc) {
        imgpipe_ledger_free(l);
        return rc;
    }
    *out = l;
    return IMGPIPE_OK;
}

void imgpipe_ledger_free(imgpipe_ledger *l)
{
    if (!l)
        return;
    if (l->fd >= 0)
        close(l->fd);
    for (size_t i = 0; i < l->cap; i++)
        free(l->slots[i].name);
    free(l->slots);
    free(l->owners);
    imgpipe_strvec_free(&l->failed);
    free(l);
}

int imgpipe_ledger_name_owner(const imgpipe_ledger *l, const char *name, const char *url)
{
    const struct owner *o = find_owner(l, imgpipe_name_key(name));
    if (!o->name_key)
        return 0;
    return o->url_hash == url_key(url) ? 1 : -1;
}

const char *imgpipe_ledger_next_failed(const imgpipe_ledger *l, size_t *pos)
{
    while (*pos < l->failed.n) {
        size_t i = (*pos)++;
        const struct entry *e = find(l, url_key(l->failed.v[i]));
        if (e->state == IMGPIPE_LEDGER_FAILED && e->failed_pos == i)
            return l->failed.v[i]; /* its last outcome, once */
    }
    return NULL;
}

enum imgpipe_ledger_state imgpipe_ledger_lookup(const imgpipe_ledger *l, const char *url,
                                                uint64_t *bytes, const char **name)
{
    const struct entry *e = find(l, url_key(url));
    *bytes = e->bytes;
    *name = e->name;
    return e->url_hash ? e->state : IMGPIPE_LEDGER_NONE;
}

/* Takes back the part of a line a full disk cut, unless another writer appended after
 * it: a torn line in the middle would hide the lines after it from the next run. */
static void cut_back(int fd, off_t start, size_t written)
{
    struct stat st;
    if (start < 0 || fstat(fd, &st) != 0 || st.st_size != start + (off_t)written)
        return;
    if (ftruncate(fd, start) != 0)
        return; /* the torn line stays, and the next run drops it as the last */
}

/* Writes a whole line: 0, or the errno of the write that stopped it. A short write leaves
 * errno as it was, so the one after it is what says why (ENOSPC, EDQUOT, EIO). */
static int append_locked(int fd, const unsigned char *line, size_t len)
{
    off_t start = lseek(fd, 0, SEEK_END);
    size_t done = 0;
    while (done < len) {
        ssize_t n = write(fd, line + done, len - done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            int e = n < 0 ? errno : EIO;
            if (done)
                cut_back(fd, start, done);
            return e;
        }
        done += (size_t)n;
    }
    return 0;
}

static int append_line(int fd, const unsigned char *line, size_t len)
{
    flock(fd, LOCK_SH); /* not while another run reads the ledger (load) */
    int e = append_locked(fd, line, len);
    flock(fd, LOCK_UN);
    return e;
}

static int record(imgpipe_ledger *l, const char *url, const char *name, int status, uint64_t bytes,
                  const char *sha256, const char *error, char *err)
{
    imgpipe_buf b = {0};
    char num[32];
    snprintf(num, sizeof(num), "\t%llu\t", (unsigned long long)(status ? 0 : bytes));
    imgpipe_buf_append(&b, status ? "failed" : "done", status ? 6 : 4);
    imgpipe_buf_append(&b, num, strlen(num));
    escape_into(&b, status || !sha256[0] ? "-" : sha256);
    imgpipe_buf_append(&b, "\t", 1);
    escape_into(&b, name);
    imgpipe_buf_append(&b, "\t", 1);
    escape_into(&b, url);
    imgpipe_buf_append(&b, "\t", 1);
    escape_into(&b, status ? error : "");
    int rc = imgpipe_buf_append(&b, "\n", 1), e;
    if (rc == IMGPIPE_OK && (e = append_line(l->fd, b.data, b.len)) != 0)
        rc = imgpipe_errf(err, IMGPIPE_EDISK, "cannot append to %s: %s", LEDGER_FILE, strerror(e));
    else if (rc)
        imgpipe_errf(err, rc, "out of memory");
    imgpipe_buf_free(&b);
    return rc; /* not remembered: lookups are about earlier runs, so memory stays flat */
}

/* The ledger is a file in DIR, readable by whoever reads the images: a URL's password is
 * never written there (imgpipe_redact), in the URL or in an error that quotes it. */
int imgpipe_ledger_record(imgpipe_ledger *l, const char *url, const char *name, int status,
                          uint64_t bytes, const char *sha256, const char *error, char *err)
{
    char *shown_url = imgpipe_redact_dup(url), *shown_error = imgpipe_redact_dup(error);
    int rc = shown_url && shown_error
                 ? record(l, shown_url, name, status, bytes, sha256, shown_error, err)
                 : imgpipe_errf(err, IMGPIPE_ENOMEM, "out of memory");
    free(shown_url);
    free(shown_error);
    return rc;
}
