/* Output names from a template (--name) and the sharded layout (--layout sharded). */
#ifndef IMGPIPE_NAMETPL_H
#define IMGPIPE_NAMETPL_H

#include "store/name.h"

/* A name with its shard folder: "ab/" + name. */
#define IMGPIPE_RELNAME_MAX (IMGPIPE_NAME_MAX + 3)

/* 1 when the template names files by content ({sha256}): known only after download. */
int imgpipe_name_template_has_sha(const char *tpl);

/* Expands tpl for the link url at position index; sha256 is the content's hex digest, or
 * "" before it is known. The result is cleaned by the rules of imgpipe_name_clean; out
 * holds IMGPIPE_NAME_MAX + 1 bytes. */
void imgpipe_name_expand(const char *tpl, const char *url, uint64_t index, const char *sha256,
                         char *out);

/* Prefixes name with its shard folder: two hex digits of the name's hash, so millions of
 * files spread over 256 folders. out holds IMGPIPE_RELNAME_MAX + 1 bytes. */
void imgpipe_name_shard(const char *name, char *out);

#endif
