/* The ledger: DIR/.imgpipe/ledger records each URL's last outcome, so that a rerun skips
 * what is done and retries what failed. An append-only text file, one line per outcome,
 * each written with one write(2): a run killed at any point leaves at most a torn last
 * line, which the next open drops. A line says "done" only after the image was renamed
 * into place, so a half-written image is never taken as done. */
#ifndef IMGPIPE_LEDGER_H
#define IMGPIPE_LEDGER_H

#include "common/util.h"

typedef struct imgpipe_ledger imgpipe_ledger;

enum imgpipe_ledger_state { IMGPIPE_LEDGER_NONE, IMGPIPE_LEDGER_DONE, IMGPIPE_LEDGER_FAILED };

/* Creates DIR/.imgpipe when missing, reads the ledger, and opens it for appending. A
 * symbolic link at DIR/.imgpipe or its ledger is refused (IMGPIPE_EDISK), never followed.
 * keep_failed: keep the failed URLs for imgpipe_ledger_next_failed (--retry-failed). */
int imgpipe_ledger_open(int dirfd, int keep_failed, imgpipe_ledger **out, char *err);
void imgpipe_ledger_free(imgpipe_ledger *l);

/* The last outcome the ledger had for url when it was opened (what this run records is
 * written, not looked up: a run's memory does not grow with its list); for DONE, the size
 * and the name it was stored as. */
enum imgpipe_ledger_state imgpipe_ledger_lookup(const imgpipe_ledger *l, const char *url,
                                                uint64_t *bytes, const char **name);

/* Who the ledger last stored name for (names compared as imgpipe_name_key does): 0 no
 * one, 1 url, -1 another URL. */
int imgpipe_ledger_name_owner(const imgpipe_ledger *l, const char *name, const char *url);

/* The URLs whose last outcome was a failure, in ledger order, each once (opened with
 * keep_failed): call with *pos 0 first; NULL at the end. For --retry-failed, whatever the sources
 * say now. */
const char *imgpipe_ledger_next_failed(const imgpipe_ledger *l, size_t *pos);

/* Appends an outcome: done (status 0) with bytes and sha256, or failed with its error.
 * A password in the URL or the error is written as *** (imgpipe_redact), and lookups key
 * URLs by that form. Not thread-safe: callers serialise (the run's lock). */
int imgpipe_ledger_record(imgpipe_ledger *l, const char *url, const char *name, int status,
                          uint64_t bytes, const char *sha256, const char *error, char *err);

/* Parses one line (without its newline) into its fields, unescaping in place: for the
 * reader and the fuzzer. Returns 0, or -1 for a line that is not a ledger line. */
int imgpipe_ledger_parse_line(char *line, enum imgpipe_ledger_state *state, uint64_t *bytes,
                              char **name, char **url);

#endif
