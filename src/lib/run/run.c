#include "run/run.h"
#include "common/stop.h"
#include "run/job.h"
#include "run/spool.h"
#include "net/hostrate.h"
#include "store/ledger.h"
#include "common/retry.h"
#include "common/sha256.h"
#include "source/source.h"
#include "store/store.h"

#include <fcntl.h>

#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>

long imgpipe_run_remaining_ms(const imgpipe_run *r)
{
    if (r->deadline <= 0)
        return -1;
    double left = (r->deadline - imgpipe_now()) * 1000.0;
    return left >= 1.0 ? (long)left : 0;
}

imgpipe_fetch_opts imgpipe_run_fetch_opts(const imgpipe_run *r)
{
    imgpipe_fetch_opts fo = r->fetch;
    /* From the options themselves, so that every executor and the queue worker (which
     * builds its run from its imgpipe_get_opts) verify TLS alike. */
    fo.insecure = r->opts->insecure;
    fo.cacert = r->opts->cacert;
    long left = imgpipe_run_remaining_ms(r);
    if (left > 0 && (fo.timeout_ms <= 0 || left < fo.timeout_ms))
        fo.timeout_ms = left;
    return fo;
}

void imgpipe_run_timed_out(imgpipe_outcome *o, int started)
{
    /* A link that was asked for keeps its attempts and time: --json says it was tried. */
    int attempts = started ? o->attempts : 0;
    double t0 = started ? o->started : 0;
    memset(o, 0, sizeof(*o));
    o->attempts = attempts;
    o->started = t0;
    o->seconds = t0 > 0 ? imgpipe_now() - t0 : 0;
    o->status = IMGPIPE_ETIMEOUT;
    imgpipe_errf(o->error, IMGPIPE_ETIMEOUT, "%s: the run's deadline passed",
                 started ? "stopped" : "not started");
}

/* A name as a path in DIR: in its shard folder with --layout sharded. */
static void rel_name(const imgpipe_run *r, const char *name, char rel[IMGPIPE_RELNAME_MAX + 1])
{
    if (r->opts->sharded)
        imgpipe_name_shard(name, rel);
    else
        snprintf(rel, IMGPIPE_RELNAME_MAX + 1, "%s", name);
}

/* A name the link did not get because a file the ledger does not record was there
 * (t->adopt), when that file holds exactly the bytes downloaded: it is this link's image,
 * put in place by a run that was killed before its ledger line, or by a run beside this
 * one into the same DIR. It is kept as it is and recorded, as a name by content holding
 * the same bytes is, rather than stored a second time under the -<hash> name. */
static void adopt_name(const imgpipe_run *r, imgpipe_task *t, imgpipe_outcome *o)
{
    imgpipe_output out = imgpipe_run_output(r, t);
    if (!t->adopt[0] || imgpipe_output_holds(&out, t->adopt, o->sha256, o->bytes) != 1)
        return;
    snprintf(t->name, sizeof(t->name), "%s", t->adopt);
    snprintf(o->name, sizeof(o->name), "%s", t->adopt);
    t->replace = 0;
    o->kept = 1;
}

#define FINAL_NAME_TRIES 64 /* names by content tried before the last one is left to fail */

/* A name by content ({sha256}), once the content is known: the same bytes get the same
 * name in any run or process, and a file already there with these bytes stays as it is
 * (o->kept: NOREPLACE finds it the same, and nothing of this run is there). A name holding
 * anything else (a file of yours, a planted link, a folder) is taken, as a name from the
 * URL would be: the link gets its -<hash> name. Only the name the ledger gave this URL
 * before (t->replace) is its own to rewrite. A name that cannot be looked at (EMFILE, EIO)
 * is used as it is: its write fails, saying why. */
static void final_name(const imgpipe_run *r, imgpipe_task *t, imgpipe_outcome *o)
{
    char base[IMGPIPE_NAME_MAX + 1], name[IMGPIPE_NAME_MAX + 1], rel[IMGPIPE_RELNAME_MAX + 1];
    if (!o->sha256[0])
        return;
    if (!r->sha_names) {
        adopt_name(r, t, o);
        return;
    }
    imgpipe_name_expand(r->opts->name_template, t->url, t->index, o->sha256, base);
    imgpipe_output out = imgpipe_run_output(r, t);
    int own = t->replace;
    t->replace = o->kept = 0;
    for (uint64_t n = 0; n < FINAL_NAME_TRIES; n++) {
        imgpipe_name_candidate(base, t->url, n, name);
        rel_name(r, name, rel);
        if (own && strcmp(rel, t->name) == 0) {
            t->replace = IMGPIPE_JOB_REWRITE;
            break;
        }
        if (imgpipe_is_thumb_name(name))
            continue;
        int holds = imgpipe_output_holds(&out, rel, o->sha256, o->bytes);
        if (holds != -1) {
            o->kept = holds == 1;
            break;
        }
    }
    snprintf(t->name, sizeof(t->name), "%s", rel);
    snprintf(o->name, sizeof(o->name), "%s", rel);
}

/* The item's view of the thumbnails written: a name per size, NULL where none. */
static void item_thumbs(imgpipe_item *item, const imgpipe_outcome *o)
{
    for (int i = 0; o && i < IMGPIPE_THUMB_MAX_SIZES; i++)
        item->thumb_names[i] = o->thumb_names[i][0] ? o->thumb_names[i] : NULL;
}

static void settle(imgpipe_run *r, imgpipe_task *t, const imgpipe_outcome *o);

/* Reports a link that needs no transfer: done by an earlier run (made: thumbnails made
 * now for it) or a duplicate of one done before it in this run (made NULL). */
static void report_skipped(imgpipe_run *r, imgpipe_task *t, uint64_t bytes,
                           const imgpipe_outcome *made)
{
    int thumbs = made ? made->thumbs : 0;
    char *shown = imgpipe_redact_dup(t->url);
    imgpipe_item item = {.index = t->index,
                         .url = shown ? shown : "(out of memory)",
                         .name = t->name,
                         .error = "",
                         .bytes = bytes,
                         .thumbs = thumbs,
                         .skipped = 1};
    item_thumbs(&item, made);
    r->sum->skipped++;
    r->sum->thumbs += (uint64_t)thumbs;
    if (r->cb)
        r->cb(&item, r->userdata);
    free(shown);
    free(t->url);
    t->url = NULL;
    settle(r, t, NULL); /* done by an earlier run: its repeats are done too */
}

/* A done item's thumbnails, for a run with --thumb: those missing are made from the file
 * (a rerun with a new size, or --thumb added). Returns the status; *made counts them. */
static int thumbs_of_done(imgpipe_run *r, imgpipe_task *t, imgpipe_outcome *made, char *err)
{
    const imgpipe_get_opts *o = r->opts;
    imgpipe_buf b = {0};
    char tname[512], why[IMGPIPE_ERRLEN];
    int missing = 0, w = 0, h = 0;
    made->thumbs = 0;
    imgpipe_output out = imgpipe_run_output(r, t);
    int rc = imgpipe_output_read(&out, t->name, UINT64_MAX, &b, err);
    const char *format = rc == IMGPIPE_OK ? imgpipe_job_thumb_format(o, b.data, b.len) : NULL;
    if (rc == IMGPIPE_OK) /* 0 x 0 when it does not read: then its thumbnails fail with why */
        imgpipe_job_image_size(b.data, b.len, &w, &h, why);
    for (int i = 0; rc == IMGPIPE_OK && i < o->nthumbs && !missing; i++) {
        rc = imgpipe_job_thumb_name(&out, t->name, &o->thumbs[i], o->nthumbs, format, w, h, tname,
                                    sizeof(tname));
        missing = rc == IMGPIPE_OK && !imgpipe_output_exists(&out, tname);
    }
    if (rc == IMGPIPE_OK && missing)
        rc = imgpipe_job_thumbs(o, &out, t->name, b.data, b.len, &made->thumbs, made->thumb_names,
                                err);
    imgpipe_buf_free(&b);
    return rc;
}

/* Whether a name the ledger has is one a run could have given: a clean name, alone or in
 * its shard folder. A hand-edited ledger may say anything ("../x.jpg", "/etc/x"): such a
 * name is not where the link is, nor a name to write. */
static int ledger_name_ok(const char *rec)
{
    char clean[IMGPIPE_NAME_MAX + 1], shard[IMGPIPE_RELNAME_MAX + 1];
    const char *slash = strchr(rec, '/');
    const char *base = slash ? slash + 1 : rec;
    imgpipe_name_clean(base, base, clean);
    if (strcmp(clean, base) != 0 || imgpipe_is_thumb_name(base))
        return 0;
    imgpipe_name_shard(base, shard);
    return !slash || strcmp(shard, rec) == 0;
}

/* Links an earlier run finished (the ledger says done, and the file is there, a regular
 * file of the recorded size) are reported as skipped instead of becoming tasks. */
static int skip_done(imgpipe_run *r, imgpipe_task *t)
{
    if (!r->ledger)
        return 0;
    uint64_t bytes;
    const char *name;
    enum imgpipe_ledger_state st = imgpipe_ledger_lookup(r->ledger, t->url, &bytes, &name);
    if (st == IMGPIPE_LEDGER_DONE && !ledger_name_ok(name))
        st = IMGPIPE_LEDGER_NONE;
    uint64_t size = 0;
    imgpipe_output out = imgpipe_run_output(r, t);
    /* Names by content are known only after download: the ledger's name is the one. */
    int same = st == IMGPIPE_LEDGER_DONE && (r->sha_names || strcmp(name, t->name) == 0);
    /* A link an earlier run stored under another name (another --name or --layout, or
     * another place in its list for {index}) is done there while its file is: a rerun
     * does not store it a second time. */
    int elsewhere = st == IMGPIPE_LEDGER_DONE && !same &&
                    imgpipe_ledger_name_owner(r->ledger, name, t->url) == 1;
    if ((!same && !elsewhere) || !imgpipe_output_stat(&out, name, t->url, &size) || size != bytes) {
        if (same && r->sha_names) { /* the name it had is its own to rewrite (final_name) */
            snprintf(t->name, sizeof(t->name), "%s", name);
            t->replace = IMGPIPE_JOB_REWRITE;
        }
        return 0;
    }
    snprintf(t->name, sizeof(t->name), "%s", name);
    imgpipe_outcome o = {.bytes = bytes, .attempts = 0};
    o.status = r->opts->nthumbs > 0 ? thumbs_of_done(r, t, &o, o.error) : IMGPIPE_OK;
    if (o.status) {
        imgpipe_run_report(r, t, &o); /* the stored file is not what it was: a failure */
        return 1;
    }
    report_skipped(r, t, bytes, &o);
    return 1;
}

/* Whether a name is free for the link being named: a name the ledger has for another URL
 * is taken, and so is anything present in DIR that the ledger does not have as this
 * URL's (without a ledger, anything present): a run never replaces a file it did not
 * write for this URL. */
struct naming {
    imgpipe_run *r;
    const char *url;
    char adopt[IMGPIPE_NAME_MAX + 1]; /* the last name refused for an unrecorded file */
};

static int name_taken(void *ctx, const char *name)
{
    struct naming *n = ctx;
    char rel[IMGPIPE_RELNAME_MAX + 1];
    rel_name(n->r, name, rel); /* the ledger records names as paths in DIR (ab/x.jpg) */
    int owner = n->r->ledger ? imgpipe_ledger_name_owner(n->r->ledger, rel, n->url) : 0;
    if (owner)
        return owner < 0;
    imgpipe_output out = {.dirfd = n->r->dirfd, .s3 = n->r->s3};
    int taken = imgpipe_output_taken(&out, rel, n->url);
    /* The last one, not the first: a run killed before its ledger line stored the link
     * under the first name free then, after every name a file held already (a file of
     * yours at the base name: the image is at its -<hash> name). */
    if (taken && n->r->ledger && !n->r->s3)
        snprintf(n->adopt, IMGPIPE_NAME_MAX + 1, "%s", name);
    return taken;
}

/* The name an earlier run stored this link under, when it is one of the link's -<hash>
 * names from base (a file of yours had the base name then): kept, so that a rerun finds
 * it done there even when the base name is free now, instead of storing the link again.
 * 0 none; 1 with name; 2 with name, given to this link before in this run (a duplicate). */
static int recorded_name(imgpipe_run *r, imgpipe_task *t, const char *base, char *name)
{
    uint64_t bytes;
    const char *rec;
    if (!r->ledger || r->sha_names ||
        imgpipe_ledger_lookup(r->ledger, t->url, &bytes, &rec) != IMGPIPE_LEDGER_DONE || !rec ||
        imgpipe_ledger_name_owner(r->ledger, rec, t->url) != 1)
        return 0;
    char rel[IMGPIPE_RELNAME_MAX + 1];
    for (uint64_t k = 1; k <= 2; k++) { /* base itself (0) is what the walk tries first */
        imgpipe_name_candidate(base, t->url, k, name);
        rel_name(r, name, rel);
        if (strcmp(rel, rec) != 0)
            continue;
        int held = imgpipe_nameset_reserve(r->names, name, t->url);
        return held == 0 ? 1 : held == 1 ? 2 : held < 0 ? held : 0;
    }
    return 0;
}

/* The name of a link: from the URL or the template, made distinct from every other URL's
 * (names by content need not be: the same name holds the same bytes), in its shard
 * folder. Returns 0, 1 for a link given before in this run, or IMGPIPE_ENOMEM. */
static int assign_name(imgpipe_run *r, imgpipe_task *t)
{
    char base[IMGPIPE_NAME_MAX + 1], name[IMGPIPE_NAME_MAX + 1];
    const char *tpl = r->opts->name_template;
    struct naming n = {r, t->url, ""};
    t->adopt[0] = '\0';
    uint64_t index = t->index; /* a link listed again is named by its first index */
    if (tpl && strstr(tpl, "{index}") &&
        imgpipe_nameset_first_index(r->names, t->url, t->index, &index) != IMGPIPE_OK)
        return IMGPIPE_ENOMEM;
    if (tpl)
        imgpipe_name_expand(tpl, t->url, index, "", base);
    else
        imgpipe_name_from_url(t->url, base);
    int rc = recorded_name(r, t, base, name);
    if (rc == 0)
        rc = imgpipe_nameset_claim(r->names, base, t->url, r->sha_names ? NULL : name_taken, &n,
                                   name);
    else if (rc > 0) /* 1: its name from the ledger, new in this run; 2: a duplicate */
        rc--;
    if (rc < 0)
        return rc;
    t->name_key = imgpipe_name_key(name); /* where its outcome is noted for its repeats */
    if (r->sha_names)
        snprintf(name, sizeof(name), "%s", base);
    rel_name(r, name, t->name);
    /* The name a file that may be this link's image holds (adopt_name): no other link of
     * this run may take that file for its own. */
    int held = rc == 0 && !r->sha_names && n.adopt[0]
                   ? imgpipe_nameset_reserve(r->names, n.adopt, t->url)
                   : 1;
    if (held < 0)
        return held;
    if (held == 0)
        rel_name(r, n.adopt, t->adopt);
    /* A file there now is this URL's own to rewrite (the ledger says so); else the name
     * was free, and stays so for others. Names by content are settled by final_name. */
    t->replace = !r->sha_names && r->ledger &&
                         imgpipe_ledger_name_owner(r->ledger, t->name, t->url) == 1 &&
                         imgpipe_store_exists(r->dirfd, t->name)
                     ? IMGPIPE_JOB_REWRITE
                     : IMGPIPE_JOB_NEW;
    return rc;
}

/* ---- links listed again ------------------------------------------------------------
 * A repeat of a link is reported as its first occurrence turned out, once that is known:
 * done, it is skipped as already done under the first's name; failed, it fails with the
 * first's reason. It is never fetched again, and no ledger line is written for it (the
 * first's line is the URL's). A first still in flight keeps its repeats waiting here. The
 * outcome is noted in the first's name slot (imgpipe_nameset_settle: the status, and the
 * reason as an id into a table of the distinct reasons, bounded): no memory per link. */

struct imgpipe_repeats {
    imgpipe_task *waiting; /* in the order listed: reported in that order */
    size_t nwaiting, cap_waiting;
    char **reasons; /* reason id - 1: the text */
    size_t nreasons, cap_reasons, reason_bytes;
    unsigned char *digests; /* of the links done in this run with names by content */
    size_t ndigests, cap_digests;
};

#define REASONS_MAX 4095 /* ids fit 12 bits of the note; 0: the reason was not kept */
#define REASON_BYTES_MAX (256 * 1024)
#define REASON_KEY 0xbb67ae8584caa73bULL       /* a reason's key in the name set, from its hash */
#define NOTE_STATUS_BITS 6                     /* -status: IMGPIPE_E* codes fit */
#define CONTENT_NAME_KEY 0x3c6ef372fe94f82bULL /* a done link's name by content, from its slot */

static int grow(void **items, size_t *cap, size_t n, size_t size)
{
    if (n < *cap)
        return IMGPIPE_OK;
    size_t more = *cap ? *cap * 2 : 8;
    void *p = more < SIZE_MAX / size ? realloc(*items, more * size) : NULL;
    if (!p)
        return IMGPIPE_ENOMEM;
    *items = p;
    *cap = more;
    return IMGPIPE_OK;
}

static struct imgpipe_repeats *repeats_of(imgpipe_run *r)
{
    if (!r->repeats)
        r->repeats = calloc(1, sizeof(*r->repeats));
    return r->repeats;
}

/* The id of a failure's reason in the table, added when new; 0 when the table is full
 * (a repeat then says the kind of failure, imgpipe_strerror). */
static uint32_t reason_id(imgpipe_run *r, const char *reason)
{
    struct imgpipe_repeats *rp = repeats_of(r);
    uint64_t key = imgpipe_hash64(reason, strlen(reason)) ^ REASON_KEY, id;
    if (!rp)
        return 0;
    if (imgpipe_nameset_noted(r->names, key, &id)) /* or a name's slot, met by chance */
        return id >= 1 && id <= rp->nreasons && strcmp(rp->reasons[id - 1], reason) == 0
                   ? (uint32_t)id
                   : 0;
    size_t len = strlen(reason) + 1;
    if (rp->nreasons >= REASONS_MAX || rp->reason_bytes + len > REASON_BYTES_MAX ||
        grow((void **)&rp->reasons, &rp->cap_reasons, rp->nreasons, sizeof(char *)))
        return 0;
    char *copy = strdup(reason);
    if (!copy || imgpipe_nameset_note(r->names, key, rp->nreasons + 1) != IMGPIPE_OK) {
        free(copy);
        return 0;
    }
    rp->reasons[rp->nreasons++] = copy;
    rp->reason_bytes += len;
    return (uint32_t)rp->nreasons;
}

/* A name by content is known only once its link is done, and a repeat listed after that
 * finds only the slot's state. A link done by an earlier run has its name in the ledger's
 * index; one done in this run keeps its digest and the candidate its name is (final_name),
 * 33 bytes, from which the name is made again: a list with names by content stays near
 * the list's own cost per link. */
#define CONTENT_REC (IMGPIPE_SHA256_LEN + 1)

/* The template expanded for url with sha256, at the index its first place has. */
static int content_base(const imgpipe_run *r, const char *url, uint64_t index, const char *sha256,
                        char base[IMGPIPE_NAME_MAX + 1])
{
    if (r->opts->name_template && strstr(r->opts->name_template, "{index}") &&
        imgpipe_nameset_first_index(r->names, url, index, &index) != IMGPIPE_OK)
        return IMGPIPE_ENOMEM;
    imgpipe_name_expand(r->opts->name_template, url, index, sha256, base);
    return IMGPIPE_OK;
}

/* Candidate n of base, as the path in DIR final_name gives it. */
static void candidate_rel(const imgpipe_run *r, const char *base, const char *url, uint64_t n,
                          char rel[IMGPIPE_RELNAME_MAX + 1])
{
    char name[IMGPIPE_NAME_MAX + 1];
    imgpipe_name_candidate(base, url, n, name);
    rel_name(r, name, rel);
}

static void keep_content_name(imgpipe_run *r, const imgpipe_task *t, uint64_t key,
                              const imgpipe_outcome *o)
{
    unsigned char md[IMGPIPE_SHA256_LEN];
    char base[IMGPIPE_NAME_MAX + 1], rel[IMGPIPE_RELNAME_MAX + 1];
    uint64_t n = 0;
    /* No digest: done before this run, and the ledger has its name. */
    if (!o || imgpipe_sha256_from_hex(o->sha256, md) != 0 ||
        content_base(r, t->url, t->index, o->sha256, base) != IMGPIPE_OK)
        return;
    for (; n < FINAL_NAME_TRIES; n++) {
        candidate_rel(r, base, t->url, n, rel);
        if (strcmp(rel, t->name) == 0)
            break;
    }
    struct imgpipe_repeats *rp = n < FINAL_NAME_TRIES ? repeats_of(r) : NULL;
    if (!rp || grow((void **)&rp->digests, &rp->cap_digests, rp->ndigests, CONTENT_REC) ||
        imgpipe_nameset_note(r->names, key ^ CONTENT_NAME_KEY, rp->ndigests + 1) != IMGPIPE_OK)
        return; /* the repeat is then reported under the template's name */
    unsigned char *rec = rp->digests + rp->ndigests++ * CONTENT_REC;
    memcpy(rec, md, IMGPIPE_SHA256_LEN);
    rec[IMGPIPE_SHA256_LEN] = (unsigned char)n;
}

/* Sets t->name to the name by content its first got, when known: in this run, else in an
 * earlier one. */
static void content_name(const imgpipe_run *r, imgpipe_task *t, uint64_t key)
{
    const struct imgpipe_repeats *rp = r->repeats;
    const char *name;
    char hex[65], base[IMGPIPE_NAME_MAX + 1];
    uint64_t bytes, id;
    if (rp && imgpipe_nameset_noted(r->names, key ^ CONTENT_NAME_KEY, &id) && id >= 1 &&
        id <= rp->ndigests) {
        const unsigned char *rec = rp->digests + (id - 1) * CONTENT_REC;
        imgpipe_sha256_to_hex(rec, hex);
        if (content_base(r, t->url, t->index, hex, base) == IMGPIPE_OK)
            candidate_rel(r, base, t->url, rec[IMGPIPE_SHA256_LEN], t->name);
    } else if (r->ledger &&
               imgpipe_ledger_lookup(r->ledger, t->url, &bytes, &name) == IMGPIPE_LEDGER_DONE) {
        snprintf(t->name, sizeof(t->name), "%s", name);
    }
}

/* A repeat whose first failed: the same failure, said to be the first's. */
static void report_repeat_failed(imgpipe_run *r, imgpipe_task *t, int status, const char *reason)
{
    char why[IMGPIPE_ERRLEN];
    snprintf(why, sizeof(why), "same link as one before it in this run: %s", reason);
    char *shown = imgpipe_redact_dup(t->url);
    imgpipe_item item = {.index = t->index,
                         .url = shown ? shown : "(out of memory)",
                         .name = t->name[0] ? t->name
                                 : shown    ? shown
                                            : "",
                         .status = status,
                         .error = why};
    r->sum->failed++;
    if (r->cb)
        r->cb(&item, r->userdata);
    free(shown);
    free(t->url);
    t->url = NULL;
}

/* The outcome of a link with a name of its own (t->name_key) is known: noted in its
 * name's slot, and its repeats waiting for it reported, after it. */
static void settle(imgpipe_run *r, imgpipe_task *t, const imgpipe_outcome *o)
{
    uint64_t key = t->name_key;
    if (!key)
        return;
    t->name_key = 0;
    int failed = o && o->status;
    uint32_t note = failed ? (uint32_t)(-o->status) & ((1u << NOTE_STATUS_BITS) - 1) : 0;
    if (failed)
        note |= reason_id(r, o->error) << NOTE_STATUS_BITS;
    imgpipe_nameset_settle(r->names, key, failed, note);
    if (!failed && r->sha_names)
        keep_content_name(r, t, key, o);
    struct imgpipe_repeats *rp = r->repeats;
    for (size_t i = 0; rp && i < rp->nwaiting;) {
        if (rp->waiting[i].name_key != key) {
            i++;
            continue;
        }
        imgpipe_task rt = rp->waiting[i];
        memmove(&rp->waiting[i], &rp->waiting[i + 1], (rp->nwaiting - i - 1) * sizeof(rt));
        rp->nwaiting--;
        rt.name_key = 0;
        if (failed) {
            report_repeat_failed(r, &rt, o->status, o->error);
        } else {
            snprintf(rt.name, sizeof(rt.name), "%s", t->name); /* a name by content, now known */
            report_skipped(r, &rt, 0, NULL);
        }
    }
}

/* A link listed before in this run (t named as the first): reported now when the first's
 * outcome is known, else kept until it is. 1, or IMGPIPE_ENOMEM. */
static int repeat_found(imgpipe_run *r, imgpipe_task *t)
{
    uint64_t key = t->name_key;
    uint32_t note = 0;
    int state = imgpipe_nameset_state(r->names, key, &note);
    t->name_key = 0;
    if (state == IMGPIPE_NAME_DONE) {
        if (r->sha_names)
            content_name(r, t, key);
        report_skipped(r, t, 0, NULL);
        return 1;
    }
    if (state == IMGPIPE_NAME_FAILED) {
        int status = -(int)(note & ((1u << NOTE_STATUS_BITS) - 1));
        uint32_t id = note >> NOTE_STATUS_BITS;
        const struct imgpipe_repeats *rp = r->repeats;
        report_repeat_failed(r, t, status,
                             rp && id >= 1 && id <= rp->nreasons ? rp->reasons[id - 1]
                                                                 : imgpipe_strerror(status));
        return 1;
    }
    struct imgpipe_repeats *rp = repeats_of(r);
    if (!rp || grow((void **)&rp->waiting, &rp->cap_waiting, rp->nwaiting, sizeof(*t)))
        return IMGPIPE_ENOMEM;
    rp->waiting[rp->nwaiting] = *t;
    rp->waiting[rp->nwaiting++].name_key = key;
    t->url = NULL;
    return 1;
}

void imgpipe_run_end_repeats(imgpipe_run *r)
{
    struct imgpipe_repeats *rp = r->repeats;
    if (!rp)
        return;
    for (size_t i = 0; i < rp->nwaiting; i++)
        report_repeat_failed(r, &rp->waiting[i], IMGPIPE_ECANCELED,
                             "the run stopped before that one had an outcome");
    for (size_t i = 0; i < rp->nreasons; i++)
        free(rp->reasons[i]);
    free(rp->waiting);
    free(rp->reasons);
    free(rp->digests);
    free(rp);
    r->repeats = NULL;
}

/* Whether the current source has its next link at hand (a page fetched, a line written).
 * An event loop is told to ask again; a blocking executor waits here, in short steps, so
 * that a stop or the deadline ends the run instead of a read that may never return. */
static int source_ready(imgpipe_run *r)
{
    while (imgpipe_source_would_block(r->sources[r->cur])) {
        if (r->polls)
            return 0;
        if (imgpipe_run_stopping(r) || imgpipe_run_remaining_ms(r) == 0)
            return 0;
        nanosleep(&(struct timespec){.tv_nsec = 20 * 1000 * 1000}, NULL);
    }
    return 1;
}

/* The next link: with --retry-failed, the ledger's failures, whatever the sources say
 * now; else the sources'. 1 with *url, 0 at the end, < 0 a read error. */
static int next_link(imgpipe_run *r, const char **url, char *err)
{
    if (r->opts->retry_failed) {
        *url = r->ledger ? imgpipe_ledger_next_failed(r->ledger, &r->failed_pos) : NULL;
        return *url != NULL;
    }
    while (r->cur < r->nsources) {
        if (!source_ready(r))
            return r->polls ? IMGPIPE_RUN_AGAIN : 0; /* 0: stopped, or past the deadline */
        imgpipe_source_interrupt_on(r->sources[r->cur], r->opts->stop, r->deadline);
        int rc = imgpipe_source_next(r->sources[r->cur], url, err);
        if (rc == IMGPIPE_ETIMEOUT)
            return 0; /* the deadline amid a line: unfinished, as a list still being written */
        if (rc != 0)
            return rc;
        r->cur++;
    }
    return 0;
}

/* --retry-failed: the ledger keeps a link without its password (imgpipe_redact's ***), so
 * it cannot be fetched from there: it fails at once, saying how to retry it. */
static int password_not_kept(imgpipe_run *r, imgpipe_task *t)
{
    if (!r->opts->retry_failed || !strstr(t->url, "***@") || !imgpipe_has_userinfo(t->url))
        return 0;
    imgpipe_outcome o = {0};
    t->name[0] = '\0';
    o.status = imgpipe_errf(o.error, IMGPIPE_ECONFIG,
                            "the ledger keeps links without their password: give the list "
                            "that holds this one again to retry it");
    imgpipe_run_report(r, t, &o);
    return 1;
}

int imgpipe_run_next(imgpipe_run *r, imgpipe_task *t, char *err)
{
    t->dirfd = -1;
    t->s3 = NULL;
    t->job_opts = NULL;
    t->ctx = NULL;
    t->replace = IMGPIPE_JOB_SHARED; /* a queue job run twice rewrites its file (docs/queue.md) */
    t->adopt[0] = '\0';
    t->name_key = 0;
    if (imgpipe_run_stopping(r))
        return 0;
    if (r->supply) {
        int rc;
        while ((rc = r->supply(r, t, err)) == IMGPIPE_RUN_AGAIN && !r->polls)
            nanosleep(&(struct timespec){.tv_nsec = 50 * 1000 * 1000}, NULL);
        return rc;
    }
    const char *url;
    int rc;
    while ((rc = next_link(r, &url, err)) == 1) {
        t->url = strdup(url);
        t->index = r->next_index++;
        t->name_key = 0;
        if (t->url && password_not_kept(r, t))
            continue;
        int named = t->url ? assign_name(r, t) : IMGPIPE_ENOMEM;
        if (named == 1) /* a duplicate: one download, one name, its first's outcome */
            named = repeat_found(r, t);
        if (named < 0) {
            free(t->url);
            return imgpipe_errf(err, IMGPIPE_ENOMEM, "out of memory");
        }
        if (named == 0 && !skip_done(r, t))
            return 1;
        if (imgpipe_run_stopping(r))
            return 0;
    }
    return rc;
}

uint64_t imgpipe_run_count_rest(imgpipe_run *r)
{
    const char *url;
    char err[IMGPIPE_ERRLEN];
    uint64_t n = 0;
    if (r->supply)
        return 0;
    int polls = r->polls;
    r->polls = 0; /* wait for a page in flight rather than hear "again" */
    while (next_link(r, &url, err) == 1)
        n++;
    r->polls = polls;
    return n;
}

int imgpipe_run_stopping(const imgpipe_run *r)
{
    return atomic_load(&r->fatal) || imgpipe_stop_set(r->opts->stop);
}

/* A disk error is the run's, not the item's: every later item would fail alike. */
static void note_fatal(imgpipe_run *r, const imgpipe_outcome *o)
{
    if (o->status != IMGPIPE_EDISK || atomic_load(&r->fatal) || r->own_dirs)
        return;
    const char *dir = r->opts->dir ? r->opts->dir : "images";
    imgpipe_errf(r->fatal_err, IMGPIPE_EDISK, "stopped: in %s: %s", dir, o->error);
    atomic_store(&r->fatal, 1);
}

#define QUOTA_LOW 100       /* requests left at which a host is slowed down */
#define QUOTA_SLOW_RATE 1.0 /* requests per second, then */

/* Imgur's API counts requests against a daily quota and answers 429 once it is gone:
 * when a server says few are left, requests to it slow down before it runs out. */
static void check_quota(imgpipe_run *r, const imgpipe_task *t, const imgpipe_outcome *o)
{
    if (!o->has_quota || o->quota_left > QUOTA_LOW ||
        !imgpipe_hostrate_slow(r->rate, t->url, QUOTA_SLOW_RATE) || !r->opts->notice)
        return;
    size_t n;
    const char *host = imgpipe_url_host(t->url, &n);
    char msg[IMGPIPE_ERRLEN];
    snprintf(msg, sizeof(msg),
             "%.*s says %ld requests are left of its quota (X-RateLimit-*Remaining): "
             "slowing to %.0f request/s there",
             (int)(n < 200 ? n : 200), host, o->quota_left, QUOTA_SLOW_RATE);
    r->opts->notice(msg, r->userdata);
}

/* The outcome's line in the ledger. A ledger that cannot be written stops the run; a done
 * item's files are then taken back, so that what is in DIR is what the ledger says is done:
 * left there unrecorded, the next run would take them for files of yours and fetch the link
 * again under another name. */
static void record_outcome(imgpipe_run *r, imgpipe_task *t, imgpipe_outcome *o)
{
    imgpipe_outcome lo = *o;
    lo.status = imgpipe_ledger_record(r->ledger, t->url, t->name, o->status, o->bytes, o->sha256,
                                      o->error, lo.error);
    if (lo.status == IMGPIPE_OK)
        return;
    if (o->status != IMGPIPE_OK) { /* the item keeps its own reason; a disk's stops the run */
        note_fatal(r, &lo);
        return;
    }
    imgpipe_output out = imgpipe_run_output(r, t);
    for (int i = 0; !o->kept && i < IMGPIPE_THUMB_MAX_SIZES; i++)
        if (o->thumb_names[i][0])
            imgpipe_output_remove(&out, o->thumb_names[i]);
    if (!o->kept) /* a file that held these bytes before is not this run's to take */
        imgpipe_output_remove(&out, t->name);
    memset(o->thumb_names, 0, sizeof(o->thumb_names));
    o->thumbs = 0;
    o->sha256[0] = '\0';
    o->status = lo.status;
    memcpy(o->error, lo.error, sizeof(o->error));
}

void imgpipe_run_report(imgpipe_run *r, imgpipe_task *t, imgpipe_outcome *o)
{
    if (r->on_outcome)
        r->on_outcome(r, t, o);
    check_quota(r, t, o);
    if (o->name[0]) /* procs: the worker named it; the parent learns it here */
        snprintf(t->name, sizeof(t->name), "%s", o->name);
    if (r->ledger && o->status != IMGPIPE_ECANCELED)
        record_outcome(r, t, o);
    char *shown = imgpipe_redact_dup(t->url); /* what the caller prints: no password */
    imgpipe_item item = {.index = t->index,
                         .url = shown ? shown : "(out of memory)",
                         .name = t->name[0] ? t->name
                                 : shown    ? shown
                                            : "",
                         .status = o->status,
                         .error = o->status ? o->error : "",
                         .bytes = o->bytes,
                         .thumbs = o->thumbs,
                         .attempts = o->attempts,
                         .seconds = o->seconds};
    item_thumbs(&item, o);
    memcpy(item.sha256, o->sha256, sizeof(item.sha256));
    if (o->status == IMGPIPE_OK) {
        r->sum->done++;
        r->sum->bytes += o->bytes;
    } else {
        r->sum->failed++;
    }
    r->sum->thumbs += (uint64_t)o->thumbs;
    note_fatal(r, o);
    if (r->cb)
        r->cb(&item, r->userdata);
    free(shown);
    settle(r, t, o); /* after its own line: its repeats follow it */
    free(t->url);
    t->url = NULL;
}

int imgpipe_run_spools(const imgpipe_run *r, const imgpipe_task *t)
{
    /* A bucket takes a body whole, from memory: there is no directory to spool it in. */
    const imgpipe_get_opts *o = t && t->job_opts ? t->job_opts : r->opts;
    return !r->no_spool && !r->s3 && !(t && t->s3) && o->nthumbs <= 0;
}

#define FDS_SPARE 64 /* the run's own: DIR, the ledger, the URL list, libcurl's, stdio */

int imgpipe_run_fds_fit(long fds)
{
    struct rlimit rl;
    return getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY ||
           (rlim_t)(fds + FDS_SPARE) <= rl.rlim_cur;
}

void imgpipe_run_plan_fds(imgpipe_run *r, long fds)
{
    if (!imgpipe_run_fds_fit(fds))
        r->no_spool = 1;
}

int imgpipe_run_dirfd(const imgpipe_run *r, const imgpipe_task *t)
{
    return t->dirfd >= 0 ? t->dirfd : r->dirfd;
}

static void end_outcome(imgpipe_outcome *o)
{
    if (o->status)
        o->sha256[0] = '\0';
    o->transient = 0;
    o->seconds = imgpipe_now() - o->started;
}

void imgpipe_run_complete(imgpipe_run *r, imgpipe_task *t, const imgpipe_buf *body,
                          imgpipe_outcome *o)
{
    o->bytes = body->len;
    imgpipe_sha256_hex(body->data, body->len, o->sha256);
    final_name(r, t, o);
    imgpipe_output out = imgpipe_run_output(r, t);
    o->status = imgpipe_job_store(t->job_opts ? t->job_opts : r->opts, &out, t->name, t->replace,
                                  body, &o->thumbs, o->thumb_names, o->error);
    end_outcome(o);
    /* A job's bucket that stayed unavailable through the PUT's own retries: the job goes
     * back on the queue rather than to the failed list. */
    o->transient = t->s3 && (o->status == IMGPIPE_ENET || o->status == IMGPIPE_ETIMEOUT);
}

/* The body's check, through a view of its file (mapped where that is safe), then the
 * rename. */
static int land_checked(imgpipe_run *r, imgpipe_task *t, imgpipe_spool *spool, imgpipe_outcome *o)
{
    size_t len = spool->tmp.fd >= 0 ? (size_t)spool->bytes : 0;
    const void *view = NULL;
    imgpipe_buf copy = {0};
    int mapped = 0;
    int rc = imgpipe_store_tmp_view(&spool->tmp, len, &copy, &view, &mapped, o->error);
    if (rc == IMGPIPE_OK)
        rc = imgpipe_job_land(t->job_opts ? t->job_opts : r->opts, &spool->tmp, view, len, t->name,
                              t->replace, o->error);
    else
        imgpipe_spool_discard(spool);
    imgpipe_store_tmp_unview(view, len, mapped);
    imgpipe_buf_free(&copy);
    return rc;
}

/* The digest was taken as the pieces went to the file (run/spool.h): the body is not
 * read again for it, and its check reads only what the format's walk needs. */
void imgpipe_run_land(imgpipe_run *r, imgpipe_task *t, imgpipe_spool *spool, imgpipe_outcome *o)
{
    o->bytes = spool->bytes;
    imgpipe_spool_digest(spool, o->sha256);
    o->status =
        spool->bytes > SIZE_MAX ? imgpipe_errf(o->error, IMGPIPE_ETOOBIG, "too large") : IMGPIPE_OK;
    if (o->status == IMGPIPE_OK && spool->write_errno)
        o->status = imgpipe_spool_error(spool, t->name, o->error);
    if (o->status == IMGPIPE_OK) {
        final_name(r, t, o);
        o->status = land_checked(r, t, spool, o);
    } else {
        imgpipe_spool_discard(spool);
    }
    end_outcome(o);
}

imgpipe_output imgpipe_run_output(const imgpipe_run *r, const imgpipe_task *t)
{
    imgpipe_output o = {.dirfd = r->dirfd, .s3 = r->s3, .url = t->url};
    if (t->s3 || t->dirfd >= 0) {
        o.s3 = t->s3;
        o.dirfd = t->dirfd;
        /* A job was named by its enqueuer, not against the bucket: an object another URL
         * wrote under that name is refused, not replaced. */
        o.guard = t->s3 != NULL;
    }
    return o;
}

void imgpipe_run_note_transfer(imgpipe_outcome *o, const imgpipe_transfer *tr)
{
    o->transient = tr->transient;
    o->retry_after_ms = tr->retry_after_ms;
    o->has_quota = tr->quota_remaining >= 0;
    o->quota_left = tr->quota_remaining;
    o->attempts++;
    o->seconds = imgpipe_now() - o->started;
}

long imgpipe_run_retry_delay(const imgpipe_run *r, const imgpipe_outcome *o, uint64_t *rng)
{
    if (!o->transient || o->attempts > r->retries || imgpipe_run_stopping(r))
        return -1;
    long d = imgpipe_retry_delay_ms(o->attempts, r->opts->retry_wait_ms, o->retry_after_ms, rng);
    long left = imgpipe_run_remaining_ms(r);
    return left >= 0 && d >= left ? -1 : d;
}

int imgpipe_run_wait(const imgpipe_run *r, double seconds)
{
    double until = imgpipe_now() + seconds;
    if (r->deadline > 0 && until >= r->deadline) /* a wait past the deadline never ends well */
        return 0;
    while (!imgpipe_run_stopping(r)) {
        double left = until - imgpipe_now();
        if (left <= 0)
            return 1;
        long step = left > 0.05 ? 50000000L : (long)(left * 1e9);
        nanosleep(&(struct timespec){.tv_nsec = step}, NULL);
    }
    return 0;
}

double imgpipe_run_reserve(imgpipe_run *r, const char *url)
{
    return r->reserve ? r->reserve(r, url) : imgpipe_hostrate_reserve(r->rate, url);
}

/* One attempt; spool is NULL when the body is wanted in memory. */
static void attempt(imgpipe_run *r, CURL *easy, imgpipe_task *t, imgpipe_spool *spool,
                    imgpipe_outcome *o)
{
    imgpipe_transfer tr;
    double wait = imgpipe_run_reserve(r, t->url);
    if (wait > 0 && !imgpipe_run_wait(r, wait)) {
        if (r->deadline > 0 && !imgpipe_run_stopping(r))
            imgpipe_run_timed_out(o, o->attempts > 0); /* its --rate turn: past the deadline */
        else
            o->status = imgpipe_errf(o->error, IMGPIPE_ECANCELED, "interrupted");
        return;
    }
    if (imgpipe_run_remaining_ms(r) == 0) { /* the deadline passed while it waited its turn */
        imgpipe_run_timed_out(o, o->attempts > 0);
        return;
    }
    imgpipe_fetch_opts fo = imgpipe_run_fetch_opts(r);
    o->status = imgpipe_transfer_init(&tr, easy, t->url, &fo, o->error);
    if (o->status == IMGPIPE_OK) {
        if (spool)
            imgpipe_spool_begin(spool, imgpipe_run_dirfd(r, t), &tr);
        o->status = imgpipe_transfer_finish(&tr, curl_easy_perform(easy), o->error);
        imgpipe_run_note_transfer(o, &tr);
        if (o->status && spool && spool->write_errno)
            o->status = imgpipe_spool_error(spool, t->name, o->error);
    }
    if (o->status == IMGPIPE_ETIMEOUT && imgpipe_run_remaining_ms(r) == 0)
        imgpipe_run_timed_out(o, 1);
    if (o->status == IMGPIPE_OK && spool)
        imgpipe_run_land(r, t, spool, o);
    else if (o->status == IMGPIPE_OK)
        imgpipe_run_complete(r, t, &tr.body, o);
    imgpipe_transfer_cleanup(&tr);
}

void imgpipe_run_perform(imgpipe_run *r, CURL *easy, imgpipe_task *t, imgpipe_outcome *o)
{
    if (r->perform) {
        memset(o, 0, sizeof(*o));
        r->perform(r, t, o);
        return;
    }
    if (imgpipe_run_remaining_ms(r) == 0) {
        imgpipe_run_timed_out(o, 0);
        return;
    }
    memset(o, 0, sizeof(*o));
    o->started = imgpipe_now();
    uint64_t rng = imgpipe_hash64(t->url, strlen(t->url)) ^ (uint64_t)(o->started * 1e9);
    imgpipe_spool spool, *sp = NULL;
    if (imgpipe_run_spools(r, t)) {
        imgpipe_spool_init(&spool);
        sp = &spool;
    }
    for (;;) {
        attempt(r, easy, t, sp, o);
        long delay = o->status ? imgpipe_run_retry_delay(r, o, &rng) : -1;
        if (delay < 0 || !imgpipe_run_wait(r, (double)delay / 1000.0))
            break;
    }
    if (sp)
        imgpipe_spool_free(sp); /* removes what a failed last attempt received */
}
