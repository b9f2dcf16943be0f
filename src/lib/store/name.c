/* File names for downloaded images, and the set of names given in one run. */
#include "store/name.h"
#include "common/util.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EXT_MAX 16 /* bytes of an extension kept on a cut, the '.' included */

/* ---- the last path segment, decoded and made safe, one byte at a time -------------- */

static int hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Past "scheme://authority" when the URL starts with one (imgpipe_url_authority, so that
 * "http:///user:pw@host" is skipped as libcurl reads it), so a bare host or its userinfo
 * never becomes a name; otherwise p itself (a relative path). The path starts at the next
 * '/' even when a byte libcurl refuses ended the authority before it. */
static const char *skip_authority(const char *p, const char *end)
{
    size_t n, info;
    const char *q = imgpipe_url_authority(p, &n, &info);
    if (!q || q > end)
        return p;
    while (q < end && *q != '/')
        q++;
    return q;
}

/* The bytes of the URL's last path segment, before decoding: [*start, return). */
static const char *last_segment(const char *url, const char **start)
{
    const char *end = url + strcspn(url, "#");
    const char *q = memchr(url, '?', (size_t)(end - url));
    if (q)
        end = q;
    const char *p = skip_authority(url, end);
    for (const char *s = p; s < end; s++)
        if (*s == '/')
            p = s + 1;
    *start = p;
    return end;
}

/* Walks a segment and yields the bytes of the safe name: %XX decoded (an invalid escape
 * stays as it is), '/' and '\\' as '_', control bytes, DEL and the C1 controls dropped, leading
 * dots dropped. Decoding comes first so that an encoded "%2F" or "%2E" gets the same rules. */
struct seg_iter {
    const char *p, *end;
    int started; /* a byte was yielded: dots are no longer leading */
    int raw;     /* the bytes are a name already: no %XX decoding */
};

static int decode_one(struct seg_iter *it)
{
    const char *p = it->p;
    if (!it->raw && p[0] == '%' && it->end - p >= 3) {
        int hi = hex_value(p[1]), lo = hex_value(p[2]);
        if (hi >= 0 && lo >= 0) {
            it->p += 3;
            return hi * 16 + lo;
        }
    }
    it->p++;
    return (unsigned char)p[0];
}

/* After a 0xC2: 1 when the next byte kept (control bytes between are dropped anyway, and
 * would otherwise join the two) makes U+0080..U+009F, the C1 controls (NEL, CSI: a
 * terminal acts on them as on ESC); it is then taken too. Else 0, nothing taken. */
static int c1_control(struct seg_iter *it)
{
    const char *at = it->p;
    int next = -1;
    while (it->p < it->end && ((next = decode_one(it)) < 0x20 || next == 0x7f))
        next = -1;
    if (next >= 0x80 && next <= 0x9F)
        return 1;
    it->p = at;
    return 0;
}

/* The next byte of the name, or -1 at its end. */
static int seg_next(struct seg_iter *it)
{
    while (it->p < it->end) {
        int c = decode_one(it);
        if (c < 0x20 || c == 0x7f)
            continue;
        if (c == 0xC2 && c1_control(it))
            continue;
        if (c == '.' && !it->started)
            continue;
        it->started = 1;
        return (c == '/' || c == '\\') ? '_' : c;
    }
    return -1;
}

/* ---- cutting to IMGPIPE_NAME_MAX ------------------------------------------------------ */

static int is_utf8_cont(unsigned char c)
{
    return (c & 0xC0) == 0x80;
}

/* The longest prefix of s[0..len) of at most max bytes that does not end inside a UTF-8
 * sequence. A continuation byte at s[max] means the sequence began at most 3 bytes back;
 * bytes that are not valid UTF-8 are cut anywhere, since there is nothing to split. */
static size_t utf8_cut(const unsigned char *s, size_t len, size_t max)
{
    if (len <= max || !is_utf8_cont(s[max]))
        return len <= max ? len : max;
    for (size_t j = max; j > 0 && max - j < 3; j--) {
        unsigned char c = s[j - 1];
        if (!is_utf8_cont(c))
            return c >= 0xC0 ? j - 1 : max;
    }
    return max;
}

/* Writes stem (cut as needed) + suffix + ext into out, at most IMGPIPE_NAME_MAX bytes.
 * Callers keep ext at most EXT_MAX and suffix short, so some stem always fits. */
static void compose(const char *stem, size_t stem_len, const char *suffix, const char *ext,
                    size_t ext_len, char *out)
{
    size_t suffix_len = strlen(suffix);
    size_t room = IMGPIPE_NAME_MAX - suffix_len - ext_len;
    size_t keep = utf8_cut((const unsigned char *)stem, stem_len, room);
    memcpy(out, stem, keep);
    memcpy(out + keep, suffix, suffix_len);
    memcpy(out + keep + suffix_len, ext, ext_len);
    out[keep + suffix_len + ext_len] = '\0';
}

/* ---- imgpipe_name_from_url ------------------------------------------------------------ */

uint64_t imgpipe_url_name_hash(const char *url)
{
    if (!imgpipe_has_userinfo(url))
        return imgpipe_hash64(url, strlen(url));
    char *shown = imgpipe_redact_dup(url);
    uint64_t h = shown ? imgpipe_hash64(shown, strlen(shown)) : 0;
    free(shown);
    return h;
}

static void fallback_name(const char *url, char *out)
{
    snprintf(out, IMGPIPE_NAME_MAX + 1, "image-%016" PRIx64, imgpipe_url_name_hash(url));
}

/* First pass over the name: its length and where its last '.' is (or -1). */
static void measure(const char *start, const char *end, int raw, size_t *len, long *last_dot)
{
    struct seg_iter it = {start, end, 0, raw};
    int c;
    *len = 0;
    *last_dot = -1;
    while ((c = seg_next(&it)) >= 0) {
        if (c == '.')
            *last_dot = (long)*len;
        (*len)++;
    }
}

/* The safe name of the bytes [start, end), decoded unless raw; key names the fallback. */
static void clean(const char *start, const char *end, int raw, const char *key, char *out)
{
    size_t len;
    long dot;
    measure(start, end, raw, &len, &dot);
    if (len == 0) {
        fallback_name(key, out);
        return;
    }
    /* Second pass: the first IMGPIPE_NAME_MAX + 1 bytes of the stem (one more than can be
     * kept, so utf8_cut sees where the cut falls) and the extension when it is kept. */
    size_t ext_len = (dot > 0 && len - (size_t)dot <= EXT_MAX) ? len - (size_t)dot : 0;
    size_t stem_len = len - ext_len;
    char stem[IMGPIPE_NAME_MAX + 1], ext[EXT_MAX];
    struct seg_iter it = {start, end, 0, raw};
    for (size_t i = 0; i < len; i++) {
        int c = seg_next(&it);
        if (i < stem_len && i < sizeof(stem))
            stem[i] = (char)c;
        else if (i >= stem_len)
            ext[i - stem_len] = (char)c;
    }
    compose(stem, stem_len < sizeof(stem) ? stem_len : sizeof(stem), "", ext, ext_len, out);
}

void imgpipe_name_from_url(const char *url, char *out)
{
    if (!url)
        url = "";
    /* The name comes from the link as it is shown: a password that ends in what libcurl
     * reads as the path ("http://u:pa/ss@host", never fetched) must not become a name. */
    char *shown = imgpipe_has_userinfo(url) ? imgpipe_redact_dup(url) : NULL;
    const char *start;
    const char *end = last_segment(shown ? shown : url, &start);
    clean(start, end, 0, url, out);
    free(shown);
}

void imgpipe_name_clean(const char *raw, const char *key, char *out)
{
    clean(raw, raw + strlen(raw), 1, key ? key : raw, out);
}

/* ---- the name set ---------------------------------------------------------------- */

/* Open addressing with linear probing over 64-bit name hashes, each with the hash of the
 * URL that holds the name; 0 marks a free slot, so a hash of 0 is stored as 1 (a false
 * "taken" only costs a longer name, never a clash). */
struct slot {
    uint64_t name, url; /* url 0: held by no URL in particular (imgpipe_nameset_assign) */
};

struct imgpipe_nameset {
    struct slot *slots;
    size_t cap; /* a power of two */
    size_t n;
};

#define NAMESET_INITIAL_CAP 64

uint64_t imgpipe_name_key(const char *name)
{
    /* ASCII case folded: "A.jpg" and "a.jpg" are one file on a case-insensitive file
     * system (FAT, macOS, casefolded ext4), so they are never given to two links. */
    uint64_t h = 1469598103934665603ULL;
    for (const unsigned char *p = (const unsigned char *)name; *p; p++) {
        unsigned char c = *p >= 'A' && *p <= 'Z' ? (unsigned char)(*p + 32) : *p;
        h = (h ^ c) * 1099511628211ULL;
    }
    h = imgpipe_hash64(&h, sizeof(h));
    return h ? h : 1;
}

/* The top 20 bits of a name's slot hold what became of the link that holds it
 * (imgpipe_nameset_settle): a URL's key is its low 44 bits, so the outcome costs no memory.
 * Two URLs are taken for one only when they claim the same name and their 44 bits agree:
 * about 1 in 10^13 for each link that walks past another's name. */
#define URL_BITS ((1ULL << 44) - 1)
#define SETTLED_BIT (1ULL << 63)
#define FAILED_BIT (1ULL << 62)
#define NOTE_SHIFT 44
#define NOTE_MASK ((1ULL << 18) - 1)

static uint64_t url_key(const char *url)
{
    uint64_t h = imgpipe_hash64(url, strlen(url)) & URL_BITS;
    return h ? h : 1;
}

imgpipe_nameset *imgpipe_nameset_new(void)
{
    imgpipe_nameset *set = calloc(1, sizeof(*set));
    if (!set)
        return NULL;
    set->slots = calloc(NAMESET_INITIAL_CAP, sizeof(*set->slots));
    if (!set->slots) {
        free(set);
        return NULL;
    }
    set->cap = NAMESET_INITIAL_CAP;
    return set;
}

void imgpipe_nameset_free(imgpipe_nameset *set)
{
    if (!set)
        return;
    free(set->slots);
    free(set);
}

/* The slot that holds key, or the free slot where it would go. */
static size_t find_slot(const struct slot *slots, size_t cap, uint64_t key)
{
    size_t i = (size_t)(key ^ (key >> 32)) & (cap - 1);
    while (slots[i].name != 0 && slots[i].name != key)
        i = (i + 1) & (cap - 1);
    return i;
}

static const struct slot *lookup(const imgpipe_nameset *set, uint64_t key)
{
    const struct slot *s = &set->slots[find_slot(set->slots, set->cap, key)];
    return s->name == key ? s : NULL;
}

static int grow(imgpipe_nameset *set)
{
    if (set->cap > SIZE_MAX / 2 / sizeof(*set->slots))
        return IMGPIPE_ENOMEM;
    size_t cap = set->cap * 2;
    struct slot *slots = calloc(cap, sizeof(*slots));
    if (!slots)
        return IMGPIPE_ENOMEM;
    for (size_t i = 0; i < set->cap; i++)
        if (set->slots[i].name)
            slots[find_slot(slots, cap, set->slots[i].name)] = set->slots[i];
    free(set->slots);
    set->slots = slots;
    set->cap = cap;
    return IMGPIPE_OK;
}

/* Adds a key not yet in the set; keeps the load at most three quarters, so probes stay
 * short and a list of millions of links costs about 16-32 bytes a link. */
static int insert(imgpipe_nameset *set, uint64_t key, uint64_t url)
{
    if ((set->n + 1) * 4 > set->cap * 3 && grow(set) != IMGPIPE_OK)
        return IMGPIPE_ENOMEM;
    set->slots[find_slot(set->slots, set->cap, key)] = (struct slot){key, url};
    set->n++;
    return IMGPIPE_OK;
}

/* The extension of a name as imgpipe_name_from_url keeps it: the last '.'-suffix, when
 * it is at most EXT_MAX bytes and not the whole name. */
static size_t ext_len_of(const char *name, size_t len)
{
    const char *dot = strrchr(name, '.');
    if (!dot || dot == name || len - (size_t)(dot - name) > EXT_MAX)
        return 0;
    return len - (size_t)(dot - name);
}

/* base + suffix with the suffix before the last two extensions, when there are two that
 * fit; out is left as it is otherwise. */
static void before_both_exts(const char *base, size_t len, size_t ext_len, const char *suffix,
                             char *out)
{
    const char *last = base + len - ext_len, *prev = last;
    while (prev > base && prev[-1] != '.')
        prev--;
    size_t exts = len - (size_t)(prev - 1 - base);
    if (ext_len && prev > base + 1 && exts <= 2 * EXT_MAX)
        compose(base, (size_t)(prev - 1 - base), suffix, prev - 1, exts, out);
}

/* Candidate n of a base name: the base itself (n = 0), then "<stem>-<hex><ext>" (n = 1),
 * then "<stem>-<hex>-<n><ext>". Every n gives a distinct name, so a walk ends. */
static void candidate(const char *base, uint32_t tag, uint64_t n, char *out)
{
    size_t len = strlen(base);
    size_t ext_len = ext_len_of(base, len);
    char suffix[40];
    if (n == 0) {
        memcpy(out, base, len + 1);
        return;
    }
    if (n == 1)
        snprintf(suffix, sizeof(suffix), "-%08" PRIx32, tag);
    else
        snprintf(suffix, sizeof(suffix), "-%08" PRIx32 "-%" PRIu64, tag, n);
    compose(base, len - ext_len, suffix, base + len - ext_len, ext_len, out);
    /* A thumbnail's two extensions ("x_thumbnail.gif.png"): the suffix before both ends
     * the tag ("x_thumbnail-1b2c3d4e.gif.png"), where before the last it does not. */
    if (imgpipe_is_thumb_name(out))
        before_both_exts(base, len, ext_len, suffix, out);
    /* An extension too long to keep apart puts the suffix after it, where a thumbnail's
     * tag before the last '.' stays a tag: every candidate would be refused, forever. */
    if (imgpipe_is_thumb_name(out))
        snprintf(out, IMGPIPE_NAME_MAX + 1, "image-%08" PRIx32 "-%" PRIu64, tag, n);
}

void imgpipe_name_candidate(const char *base, const char *url, uint64_t n, char *out)
{
    candidate(base, (uint32_t)imgpipe_url_name_hash(url), n, out);
}

int imgpipe_nameset_claim(imgpipe_nameset *set, const char *base, const char *url,
                          imgpipe_name_taken_fn taken, void *ctx, char *out)
{
    char name[IMGPIPE_NAME_MAX + 1];
    uint64_t mine = url ? url_key(url) : 0;
    uint32_t tag = (uint32_t)imgpipe_url_name_hash(url ? url : "");
    for (uint64_t n = 0;; n++) {
        candidate(base, tag, n, name);
        const struct slot *s = lookup(set, imgpipe_name_key(name));
        if (s && mine && (s->url & URL_BITS) == mine) {
            memcpy(out, name, strlen(name) + 1);
            return 1; /* this URL came before in this run: the same name, once */
        }
        if (s || imgpipe_is_thumb_name(name) || (taken && taken(ctx, name)))
            continue;
        if (insert(set, imgpipe_name_key(name), mine) != IMGPIPE_OK) {
            out[0] = '\0';
            return IMGPIPE_ENOMEM;
        }
        memcpy(out, name, strlen(name) + 1);
        return IMGPIPE_OK;
    }
}

int imgpipe_nameset_reserve(imgpipe_nameset *set, const char *name, const char *url)
{
    const struct slot *s = lookup(set, imgpipe_name_key(name));
    if (s)
        return (s->url & URL_BITS) == url_key(url) ? 1 : 2;
    return insert(set, imgpipe_name_key(name), url_key(url));
}

int imgpipe_nameset_first_index(imgpipe_nameset *set, const char *url, uint64_t index,
                                uint64_t *first)
{
    /* Kept among the names under a key of its own, as the walks' resume points are: a key
     * that meets a name's only lengthens that name. The slot holds the index + 1. */
    uint64_t key = url_key(url) ^ 0x6a09e667f3bcc909ULL;
    key = key ? key : 1;
    const struct slot *s = lookup(set, key);
    if (s) {
        *first = s->url - 1;
        return IMGPIPE_OK;
    }
    *first = index;
    return insert(set, key, index + 1);
}

void imgpipe_nameset_settle(imgpipe_nameset *set, uint64_t name_key, int failed, uint32_t note)
{
    struct slot *s = &set->slots[find_slot(set->slots, set->cap, name_key)];
    if (s->name == name_key && s->url)
        s->url = (s->url & URL_BITS) | SETTLED_BIT | (failed ? FAILED_BIT : 0) |
                 ((uint64_t)(note & NOTE_MASK) << NOTE_SHIFT);
}

int imgpipe_nameset_state(const imgpipe_nameset *set, uint64_t name_key, uint32_t *note)
{
    const struct slot *s = lookup(set, name_key);
    if (!s || !(s->url & SETTLED_BIT))
        return IMGPIPE_NAME_PENDING;
    *note = (uint32_t)((s->url >> NOTE_SHIFT) & NOTE_MASK);
    return s->url & FAILED_BIT ? IMGPIPE_NAME_FAILED : IMGPIPE_NAME_DONE;
}

int imgpipe_nameset_note(imgpipe_nameset *set, uint64_t key, uint64_t value)
{
    key = key ? key : 1;
    struct slot *s = &set->slots[find_slot(set->slots, set->cap, key)];
    if (s->name == key) {
        s->url = value;
        return IMGPIPE_OK;
    }
    return insert(set, key, value);
}

int imgpipe_nameset_noted(const imgpipe_nameset *set, uint64_t key, uint64_t *value)
{
    const struct slot *s = lookup(set, key ? key : 1);
    if (s)
        *value = s->url;
    return s != NULL;
}

int imgpipe_nameset_assign(imgpipe_nameset *set, const char *url, char *out)
{
    char base[IMGPIPE_NAME_MAX + 1];
    if (!url)
        url = "";
    imgpipe_name_from_url(url, base);
    return imgpipe_nameset_assign_name(set, base, url, out);
}

/* The key under which a set remembers where the walk of (base, tag) goes on past
 * candidate 1. Names are never released, so every candidate below the remembered one stays
 * taken: the same link listed a thousand times costs one probe each, not a walk over the
 * thousand names before it. A key that meets a name's key only lengthens a name. */
static uint64_t resume_key(const char *base, uint32_t tag)
{
    char first[IMGPIPE_NAME_MAX + 1];
    candidate(base, tag, 1, first);
    uint64_t h = imgpipe_name_key(first) ^ 0x9e3779b97f4a7c15ULL;
    return h ? h : 1;
}

static uint64_t resume_at(const imgpipe_nameset *set, uint64_t key)
{
    const struct slot *s = lookup(set, key);
    return s && s->url > 2 ? s->url : 2;
}

static int remember_resume(imgpipe_nameset *set, uint64_t key, uint64_t n)
{
    struct slot *s = &set->slots[find_slot(set->slots, set->cap, key)];
    if (s->name == key) {
        s->url = n;
        return IMGPIPE_OK;
    }
    return insert(set, key, n);
}

int imgpipe_nameset_assign_name(imgpipe_nameset *set, const char *base, const char *url, char *out)
{
    char name[IMGPIPE_NAME_MAX + 1];
    uint32_t tag = (uint32_t)imgpipe_url_name_hash(url);
    uint64_t n = 0;
    for (;; n++) {
        if (n == 2)
            n = resume_at(set, resume_key(base, tag));
        candidate(base, tag, n, name);
        if (!lookup(set, imgpipe_name_key(name)) && !imgpipe_is_thumb_name(name))
            break;
    }
    if (insert(set, imgpipe_name_key(name), 0) != IMGPIPE_OK ||
        (n >= 2 && remember_resume(set, resume_key(base, tag), n + 1) != IMGPIPE_OK)) {
        out[0] = '\0';
        return IMGPIPE_ENOMEM;
    }
    memcpy(out, name, strlen(name) + 1);
    return IMGPIPE_OK;
}
