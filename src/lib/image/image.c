/* The image model: a decoded raster's allocation, shared by the codecs, resize and
 * orientation (none of which owns it). */
#include "image/image.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int imgpipe_image_alloc(struct imgpipe_image *img, int width, int height, int channels)
{
    memset(img, 0, sizeof(*img));
    if (width <= 0 || height <= 0 || channels < 1 || channels > 4)
        return IMGPIPE_EINVAL;
    size_t stride = (size_t)width * channels;
    if ((size_t)height > SIZE_MAX / stride)
        return IMGPIPE_ENOMEM;
    img->pixels = malloc(stride * height);
    if (!img->pixels)
        return IMGPIPE_ENOMEM;
    img->width = width;
    img->height = height;
    img->channels = channels;
    img->stride = stride;
    return IMGPIPE_OK;
}

void imgpipe_image_free(struct imgpipe_image *img)
{
    if (!img->borrowed)
        free(img->pixels);
    memset(img, 0, sizeof(*img));
}
