/* How many transfers the async executor keeps in flight when the user did not say (-j):
 * the fewest that keep the server busy. It starts at a level that suits a fast server and
 * doubles while a doubling nearly doubles the answers per second and the bytes per second
 * (latency to hide: the server answers each after a wait, however many ask; bytes as well,
 * since with bodies of mixed sizes the answers per second of a busy link swing with the
 * sizes in a window, and a doubling can look like a gain); once one does not, it goes back
 * to the level before and stays (the CPU, the link or the server is the limit, and more in
 * flight only costs). Once per run: a host's latency does not change within one.
 *
 * Above a soft ceiling it probes only in a long run: a probe that does not pay costs a
 * window of answers at twice the level, which a short run cannot pay back. Once the run is
 * long, a window at soft is read again first: the one that paid may be long past (a
 * worker's earlier queue, a host that slowed down).
 *
 * Latency shows in the first answers: when each of them waited IMGPIPE_LIMITER_LATENCY or
 * more for its first byte, the server (or the path to it) answers late however few ask,
 * and the limit goes straight to max, short run or long, without probing on the way. The
 * silence shows it sooner: when IMGPIPE_LIMITER_FIRST requests have waited that long with
 * no byte back (imgpipe_limiter_silent), each of the first answers will have too, and the
 * jump need not wait a round trip for them. If the waits after the jump grow to twice the
 * first answers', the server was queueing, not far: back to the level before, from where
 * it doubles only while a doubling pays, and never jumps again in the run. A busy server
 * answers its first requests at once and the rest later, so its first waits are short; and
 * a wait counts only when the caller itself was idle as long (imgpipe_limiter_idle), not
 * busy with other transfers' bytes. */
#ifndef IMGPIPE_LIMITER_H
#define IMGPIPE_LIMITER_H

typedef struct imgpipe_limiter {
    int limit;         /* transfers allowed in flight now */
    int start;         /* where it starts, and starts again after imgpipe_limiter_reset */
    int soft;          /* above it only once the run is long (IMGPIPE_LIMITER_LONG_RUN) */
    int max;           /* never above */
    int settled;       /* 1 once the limit stays */
    int waiting;       /* at soft, the last doubling paid: waiting for the run to be long */
    long answers;      /* answers counted so far */
    double since;      /* when the limit last changed */
    double first;      /* this window's first answer */
    int n;             /* answers in this window */
    double bytes;      /* their bytes, the first answer's left out as its time is */
    double last_rate;  /* answers per second at the level before, 0: none yet */
    double last_bps;   /* bytes per second at the level before */
    int ended;         /* transfers ended, up to IMGPIPE_LIMITER_FIRST: answers and failures */
    double first_wait; /* the shortest wait for a first byte among them */
    double wait_min;   /* the shortest in this window, after a jump */
    int before;        /* after a jump to max on latency, until it is checked: the level it
                          came from; 0: none */
    int jumped;        /* 1 once it jumped in this run: no second jump */
    double idle;       /* seconds the caller had nothing to do, until the first answers */
} imgpipe_limiter;

/* Answers, per soft level in flight, before the limit may go above soft: four rounds at
 * soft, where one probe window is about a round at twice the level. */
#define IMGPIPE_LIMITER_LONG_RUN 4

/* Seconds every one of the first answers waited for its first byte, or that
 * IMGPIPE_LIMITER_FIRST requests went without one, before the limit jumps to max: a host
 * a few hundred kilometres away or more, a server's deliberate delay; not a loopback
 * server under load, whose first answers come within a millisecond or two. Where 10 ms is
 * the machine's own delay (the caller busy), imgpipe_limiter_idle keeps it from counting. */
#define IMGPIPE_LIMITER_LATENCY 0.010
#define IMGPIPE_LIMITER_FIRST 8 /* the first answers, that show the latency */

void imgpipe_limiter_init(imgpipe_limiter *l, int start, int soft, int max);

/* Back to the start, as in a new run: a worker whose queues went empty (what comes next
 * may be for other hosts, at another latency). */
void imgpipe_limiter_reset(imgpipe_limiter *l);

/* The caller had nothing to do for seconds (waiting for sockets). A wait for a first byte
 * while the caller was busy may be its own: on a loaded machine, a fast server's answers
 * wait for the loop to read them. The jump needs the caller to have idled that long too. */
void imgpipe_limiter_idle(imgpipe_limiter *l, double seconds);

/* Whether the first answers may still make the limit jump: while so, the caller counts the
 * requests still without an answer and tells imgpipe_limiter_silent. */
int imgpipe_limiter_deciding(const imgpipe_limiter *l);

/* A transfer failed after a first byte wait seconds after its request was sent (an error
 * status: the server answers that fast), or with none (wait < 0: not counted). Failures
 * count among the first answers, not in the rates. */
void imgpipe_limiter_failed(imgpipe_limiter *l, double wait);

/* silent requests, sent IMGPIPE_LIMITER_LATENCY or more ago, have had no byte back yet.
 * Returns the limit from now on. */
int imgpipe_limiter_silent(imgpipe_limiter *l, int silent, double now);

/* One answer of bytes bytes, now, to a transfer started at started (imgpipe_now's clock),
 * whose first byte came wait seconds after its request was sent. Answers to transfers
 * started before the last change had other company and are not counted. Returns the limit
 * from now on. */
int imgpipe_limiter_sample(imgpipe_limiter *l, double started, double now, double bytes,
                           double wait);

#endif
