/* Small helpers shared by every module of libimgpipe: error text, string vectors. */
#ifndef IMGPIPE_UTIL_H
#define IMGPIPE_UTIL_H

#include "imgpipe.h"

#include <stdarg.h>
#include <stddef.h>

/* Fills err (IMGPIPE_ERRLEN bytes; may be NULL) with a formatted sentence and returns
 * status, so a failure reads `return imgpipe_errf(err, IMGPIPE_EIO, "...", ...);`. */
int imgpipe_errf(char *err, int status, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* A growable vector of owned strings. */
typedef struct imgpipe_strvec {
    char **v;
    size_t n;
    size_t cap;
} imgpipe_strvec;

/* Appends a copy of s. */
int imgpipe_strvec_push(imgpipe_strvec *sv, const char *s);
void imgpipe_strvec_free(imgpipe_strvec *sv);

/* The authority of url, which starts with "scheme:" and one or more '/', as libcurl reads
 * it: past all of those slashes ("http:///u:pw@h/x" is sent as "http://u:pw@h/x"), up to
 * '/', '?', '#', a space or a control byte. Returns its start, its length in *len and in
 * *userinfo the length of its userinfo (up to and including the last '@'; 0 when none);
 * NULL when url does not start so. Every part of imgpipe that splits a URL's userinfo
 * from its host asks here (or imgpipe_redact, which finds URLs in text the same way). */
const char *imgpipe_url_authority(const char *url, size_t *len, size_t *userinfo);

/* The length of the valid UTF-8 sequence at s (n bytes left, n > 0): 1..4, or 0 when it
 * is none (a stray byte, an overlong form, an encoded surrogate, past U+10FFFF). */
size_t imgpipe_utf8_len(const unsigned char *s, size_t n);

/* The server part of a URL, scheme://[userinfo@]HOST[:PORT]/...: a pointer into url and
 * its length in *len (the whole string up to '/', '?' or '#' when there is no scheme). */
const char *imgpipe_url_host(const char *url, size_t *len);

/* Secrets in URLs (scheme://user:password@host/...) are never shown nor stored: each URL in
 * text has the password of its userinfo replaced by "***" (the whole userinfo when it has
 * no ':', a token), so "https://u:pw@h/x" reads "https://u:***@h/x". A URL is whatever
 * follows a ":/" (with imgpipe_url_authority's slashes and authority): a password holding
 * quotes, '<', '>' or '\\' is hidden whole, as libcurl sends it whole, even when a
 * sentence quotes the URL. Works like snprintf: writes at most cap bytes (cut, never
 * inside the secret) and returns the full length. */
size_t imgpipe_redact(const char *text, char *out, size_t cap);

/* text redacted as above in a malloc'd string; NULL when out of memory. */
char *imgpipe_redact_dup(const char *text);

/* 1 when text holds a URL with userinfo (what imgpipe_redact hides). */
int imgpipe_has_userinfo(const char *text);

/* 64-bit FNV-1a: stable across runs and hosts, so names derived from it are deterministic. */
uint64_t imgpipe_hash64(const void *data, size_t len);

#endif
