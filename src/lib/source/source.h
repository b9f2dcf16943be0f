/* What the run layer asks of a source beyond the public imgpipe_source_* calls. */
#ifndef IMGPIPE_SOURCE_SOURCE_H
#define IMGPIPE_SOURCE_SOURCE_H

#include "imgpipe.h"

/* 1 when imgpipe_source_next would wait for a page still being fetched ahead: an event
 * loop asks again later instead of stalling its transfers. */
int imgpipe_source_would_block(const imgpipe_source *s);

#endif
