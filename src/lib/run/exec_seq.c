/* The sequential executor: one link after another on one reused connection, as the
 * tutorial's single.py. The baseline every other mode is compared with. */
#include "run/run.h"

int imgpipe_exec_seq(imgpipe_run *r, char *err)
{
    CURL *easy = curl_easy_init();
    if (!easy)
        return imgpipe_errf(err, IMGPIPE_ENOMEM, "cannot create a libcurl handle");
    imgpipe_task t;
    imgpipe_outcome o;
    int rc;
    while ((rc = imgpipe_run_next(r, &t, err)) > 0) {
        imgpipe_run_perform(r, easy, &t, &o);
        imgpipe_run_report(r, &t, &o);
    }
    curl_easy_cleanup(easy);
    return rc;
}
