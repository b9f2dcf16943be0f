/* The per-thread thumbnail engine: codec handles, scratch buffers and the last colour
 * transform, created on a thread's first thumbnail and freed when the thread exits, so a
 * worker making thousands of thumbnails allocates them once. */
#include "image/image.h"

#include <lcms2.h>
#include <libdeflate.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <turbojpeg.h>

/* A buffer this large after an image (a huge source) is given back instead of being kept
 * for the thread's lifetime. */
#define SCRATCH_KEEP (64u << 20)

static pthread_key_t engine_key;
static pthread_once_t engine_once = PTHREAD_ONCE_INIT;
static int engine_key_ok;

static void scratch_free(struct imgpipe_scratch *s)
{
    free(s->p);
    s->p = NULL;
    s->cap = 0;
}

void *imgpipe_scratch_get(struct imgpipe_scratch *s, size_t need)
{
    if (need <= s->cap)
        return s->p;
    /* free + malloc, not realloc: the old contents are not needed, so do not copy them. */
    scratch_free(s);
    s->p = malloc(need);
    if (s->p)
        s->cap = need;
    return s->p;
}

static void drop_transform(struct imgpipe_engine *e)
{
    if (e->xform)
        cmsDeleteTransform(e->xform);
    e->xform = NULL;
    imgpipe_buf_free(&e->xform_icc);
}

static void engine_free(void *arg)
{
    struct imgpipe_engine *e = arg;
    if (!e)
        return;
    if (e->tjd)
        tjDestroy(e->tjd);
    if (e->tje)
        tjDestroy(e->tje);
    drop_transform(e);
    if (e->lcms)
        cmsDeleteContext(e->lcms);
    scratch_free(&e->pixels);
    scratch_free(&e->aux);
    scratch_free(&e->zdata);
    if (e->inflater)
        libdeflate_free_decompressor(e->inflater);
    imgpipe_buf_free(&e->icc);
    free(e);
}

static void make_key(void)
{
    engine_key_ok = pthread_key_create(&engine_key, engine_free) == 0;
}

struct imgpipe_engine *imgpipe_engine_get(void)
{
    pthread_once(&engine_once, make_key);
    if (!engine_key_ok)
        return NULL;
    struct imgpipe_engine *e = pthread_getspecific(engine_key);
    if (e)
        return e;
    e = calloc(1, sizeof(*e));
    if (!e)
        return NULL;
    e->tjd = tjInitDecompress();
    e->tje = tjInitCompress();
    e->lcms = cmsCreateContext(NULL, NULL);
    e->inflater = libdeflate_alloc_decompressor();
    if (!e->tjd || !e->tje || !e->lcms || !e->inflater || pthread_setspecific(engine_key, e) != 0) {
        engine_free(e);
        return NULL;
    }
    return e;
}

void imgpipe_engine_release(void)
{
    pthread_once(&engine_once, make_key);
    if (!engine_key_ok)
        return;
    engine_free(pthread_getspecific(engine_key));
    pthread_setspecific(engine_key, NULL);
}

void imgpipe_engine_trim(struct imgpipe_engine *e)
{
    if (e->pixels.cap > SCRATCH_KEEP)
        scratch_free(&e->pixels);
    if (e->aux.cap > SCRATCH_KEEP)
        scratch_free(&e->aux);
    if (e->zdata.cap > SCRATCH_KEEP)
        scratch_free(&e->zdata);
    e->icc.len = 0;
    e->extent_w = e->extent_h = 0;
    if (e->icc.cap > SCRATCH_KEEP)
        imgpipe_buf_free(&e->icc);
}

/* ---- ICC: embedded profiles to sRGB ---- */

/* The kinds of pixels a transform takes: RGB or RGBA (3, 4, the channels), CMYK as libjpeg
 * hands it back, with the inks inverted as Adobe (Photoshop) stores them or not. */
enum { XFORM_CMYK = 8, XFORM_CMYK_INVERTED = 9 };

/* The transform from the profile in e->icc to sRGB for pixels of that kind, reusing the
 * last one when the profile bytes and the kind are the same (a gallery's photos mostly
 * share one). NULL when the profile is unusable or not of the pixels' colour space: they
 * are then converted as if the profile were not there. */
static cmsHTRANSFORM transform_for(struct imgpipe_engine *e, int kind)
{
    if (e->xform && e->xform_channels == kind && e->xform_icc.len == e->icc.len &&
        memcmp(e->xform_icc.data, e->icc.data, e->icc.len) == 0)
        return e->xform;
    drop_transform(e);
    int cmyk = kind == XFORM_CMYK || kind == XFORM_CMYK_INVERTED;
    cmsUInt32Number in_fmt = kind == XFORM_CMYK            ? TYPE_CMYK_8
                             : kind == XFORM_CMYK_INVERTED ? TYPE_CMYK_8_REV
                             : kind == 4                   ? TYPE_RGBA_8
                                                           : TYPE_RGB_8;
    cmsHPROFILE in = cmsOpenProfileFromMemTHR(e->lcms, e->icc.data, (cmsUInt32Number)e->icc.len);
    cmsHPROFILE out = cmsCreate_sRGBProfileTHR(e->lcms);
    if (in && out && cmsGetColorSpace(in) == (cmyk ? cmsSigCmykData : cmsSigRgbData))
        /* COPY_ALPHA: lcms leaves extra channels alone unless told to carry them over. */
        e->xform = cmsCreateTransformTHR(e->lcms, in, in_fmt, out, cmyk ? TYPE_RGB_8 : in_fmt,
                                         INTENT_PERCEPTUAL, cmyk ? 0 : cmsFLAGS_COPY_ALPHA);
    if (in)
        cmsCloseProfile(in);
    if (out)
        cmsCloseProfile(out);
    if (e->xform && imgpipe_buf_append(&e->xform_icc, e->icc.data, e->icc.len) != 0)
        drop_transform(e);
    e->xform_channels = kind;
    return e->xform;
}

int imgpipe_icc_cmyk_to_srgb(struct imgpipe_engine *e, const unsigned char *cmyk, int inverted,
                             struct imgpipe_image *rgb)
{
    cmsHTRANSFORM t = e->icc.len && rgb->channels == 3
                          ? transform_for(e, inverted ? XFORM_CMYK_INVERTED : XFORM_CMYK)
                          : NULL;
    if (!t)
        return 0;
    for (int y = 0; y < rgb->height; y++)
        cmsDoTransform(t, cmyk + (size_t)y * rgb->width * 4, rgb->pixels + (size_t)y * rgb->stride,
                       (cmsUInt32Number)rgb->width);
    return 1;
}

int imgpipe_icc_to_srgb(struct imgpipe_engine *e, struct imgpipe_image *img)
{
    if (!e->icc.len || (img->channels != 3 && img->channels != 4))
        return 0;
    cmsHTRANSFORM t = transform_for(e, img->channels);
    if (!t)
        return 0;
    for (int y = 0; y < img->height; y++) {
        unsigned char *row = img->pixels + (size_t)y * img->stride;
        cmsDoTransform(t, row, row, (cmsUInt32Number)img->width);
    }
    return 1;
}
