/* What the run layer asks of a source beyond the public imgpipe_source_* calls. */
#ifndef IMGPIPE_SOURCE_SOURCE_H
#define IMGPIPE_SOURCE_SOURCE_H

#include "imgpipe.h"

/* 1 when imgpipe_source_next would wait, for a page still being fetched ahead or for a
 * line a pipe's writer has not written yet: an event loop asks again later instead of
 * stalling its transfers, and a run can end at its deadline instead of in a read. */
int imgpipe_source_would_block(const imgpipe_source *s);

/* What ends a line being read that has no end (a list on /dev/zero): the run's stop
 * flag, and its deadline in imgpipe_now() seconds (0: none). At a stop the list ends
 * there; at the deadline imgpipe_source_next gives IMGPIPE_ETIMEOUT, and the source stays
 * unfinished. */
void imgpipe_source_interrupt_on(imgpipe_source *s, const volatile sig_atomic_t *stop,
                                 double deadline);

/* Waits for a page being fetched ahead (it is kept for imgpipe_source_next): before a
 * fork, no other thread may be inside libcurl or OpenSSL, holding a lock the child
 * would inherit locked. */
void imgpipe_source_settle(imgpipe_source *s);

/* The spec the source was opened with, for messages. */
const char *imgpipe_source_name(const imgpipe_source *s);

#endif
