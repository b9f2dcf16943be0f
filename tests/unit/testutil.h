/* Helpers for the cmocka unit tests. */
#ifndef IMGPIPE_TESTUTIL_H
#define IMGPIPE_TESTUTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

/* A fresh directory under $TMPDIR (or /tmp); the caller removes it with testutil_rmtree. */
char *testutil_tmpdir(void);
void testutil_rmtree(const char *path);

#endif
