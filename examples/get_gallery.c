/* A program using libimgpipe: download the links of a source with thumbnails, report each
 * item, print the summary. Build: cc get_gallery.c $(pkg-config --cflags --libs imgpipe)
 * usage: get_gallery MODE DIR SOURCE... */
#include <imgpipe.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void on_item(const imgpipe_item *item, void *userdata)
{
    int *count = userdata; /* never called from two threads at once: no lock needed */
    (*count)++;
    printf("%s %s %s\n", item->status ? "failed" : "ok", item->url,
           item->status ? item->error : item->name);
}

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: %s MODE DIR SOURCE...\n", argv[0]);
        return 2;
    }
    char err[IMGPIPE_ERRLEN];
    imgpipe_get_opts opts = {.dir = argv[2], .nthumbs = 1, .thumbs = {{64, 64}}};
    if (imgpipe_parse_mode(argv[1], &opts.mode) != IMGPIPE_OK || imgpipe_global_init() != 0)
        return 2;
    int n = argc - 3, rc = 1, count = 0;
    imgpipe_source **sources = calloc((size_t)n, sizeof(*sources));
    imgpipe_source_opts so = {.api_url = getenv("IMGUR_API_URL"),
                              .client_id = getenv("IMGUR_CLIENT_ID")};
    int opened = 0;
    while (sources && opened < n &&
           imgpipe_source_open(&sources[opened], argv[3 + opened], &so, err) == IMGPIPE_OK)
        opened++;
    if (opened < n) {
        fprintf(stderr, "%s\n", err);
    } else {
        imgpipe_summary sum;
        if (imgpipe_get(&opts, sources, n, on_item, &count, &sum, err) != IMGPIPE_OK)
            fprintf(stderr, "%s\n", err);
        else
            printf("summary: %llu done, %llu failed, %llu thumbnails, %d reported\n",
                   (unsigned long long)sum.done, (unsigned long long)sum.failed,
                   (unsigned long long)sum.thumbs, count);
        rc = sum.failed ? 1 : 0;
    }
    for (int i = 0; i < opened; i++)
        imgpipe_source_free(sources[i]);
    free(sources);
    imgpipe_global_cleanup();
    return rc;
}
