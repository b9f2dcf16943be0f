#include "testutil.h"
#include "run/limiter.h"

/* A server that answers rate_at(limit) times a second with limit transfers in flight, each
 * after latency seconds: feeds answers until the limit settles; returns where it did. */
static int settle(imgpipe_limiter *l, double (*rate_at)(int limit), double latency)
{
    double t = 1.0;
    for (int i = 0; i < 100000 && !l->settled; i++) {
        int limit = l->limit;
        t += 1.0 / rate_at(limit);
        imgpipe_limiter_sample(l, t - latency, t, 1000, 0);
        if (l->limit != limit)
            t += latency; /* what starts now answers a latency later */
    }
    return l->limit;
}

/* 100 ms per answer however many ask: latency to hide, all the way up. */
static double latency_bound(int limit)
{
    return limit / 0.100;
}

/* A busy CPU or link: 5000 answers a second, however many are in flight. */
static double cpu_bound(int limit)
{
    (void)limit;
    return 5000;
}

/* Latency bound up to 64 in flight, then the server's own limit. */
static double knee_at_64(int limit)
{
    return limit <= 64 ? limit / 0.100 : 640;
}

static void test_grows_while_doubling_pays(void **state)
{
    (void)state;
    imgpipe_limiter l;
    imgpipe_limiter_init(&l, 32, 64, 64);
    assert_int_equal(l.limit, 32);
    assert_int_equal(settle(&l, latency_bound, 0.1), 64);
    assert_true(l.settled);
    imgpipe_limiter_init(&l, 16, 1024, 1024);
    assert_int_equal(settle(&l, latency_bound, 0.1), 1024);
}

static void test_steps_back_when_doubling_does_not_pay(void **state)
{
    (void)state;
    imgpipe_limiter l;
    imgpipe_limiter_init(&l, 32, 64, 64);
    assert_int_equal(settle(&l, cpu_bound, 0.001), 32); /* probed 64: no gain, back */
    imgpipe_limiter_init(&l, 16, 1024, 1024);
    assert_int_equal(settle(&l, knee_at_64, 0.1), 64);
    /* settled: later answers, however fast or slow, change nothing */
    for (int i = 0; i < 1000; i++)
        imgpipe_limiter_sample(&l, 100.0 + i, 100.0 + i + (i % 2 ? 5.0 : 0.0001), 1000, 0);
    assert_int_equal(l.limit, 64);
}

/* Right after a doubling, answers still come from transfers started before it, at the old
 * rate: counted, they would make every doubling look useless. */
static void test_answers_from_before_a_change_do_not_count(void **state)
{
    (void)state;
    imgpipe_limiter l;
    imgpipe_limiter_init(&l, 8, 64, 64);
    double t = 1.0;
    for (int i = 0; i < 10; i++, t += 0.0125) /* 80 answers/s at 8, over a round trip */
        imgpipe_limiter_sample(&l, t - 0.1, t, 1000, 0);
    assert_int_equal(l.limit, 16);
    for (int i = 0; i < 100; i++, t += 0.0125) /* the old transfers, still at 80/s */
        assert_int_equal(imgpipe_limiter_sample(&l, 0.5, t, 1000, 0), 16);
    assert_false(l.settled);
    double since = t;
    t += 0.1; /* new ones, a latency later, at 160/s: the doubling paid */
    for (int i = 0; i < 17; i++, t += 0.00625)
        imgpipe_limiter_sample(&l, t - 0.1 > since ? t - 0.1 : since, t, 1000, 0);
    assert_int_equal(l.limit, 32);
}

/* Small bodies answer in waves, a level's worth at once each round trip: read from the
 * first answer of a wave, every level looks as fast as the CPU, and a doubling that
 * doubles the answers per round trip looks like no gain. */
static void test_waves_read_over_the_round_trip(void **state)
{
    (void)state;
    imgpipe_limiter l;
    imgpipe_limiter_init(&l, 32, 64, 64);
    double t = 1.0;
    for (int round = 0; round < 4 && !l.settled; round++) {
        int level = l.limit;
        double start = t;
        t += 0.1; /* the wave: every transfer of the level answers 100 ms later, 1 ms apart */
        for (int i = 0; i < level; i++, t += 0.001)
            imgpipe_limiter_sample(&l, start, t, 1000, 0);
    }
    assert_int_equal(l.limit, 64);
}

static void test_window_and_bounds(void **state)
{
    (void)state;
    imgpipe_limiter l;
    imgpipe_limiter_init(&l, 200, 64, 256); /* the start never exceeds the soft cap */
    assert_int_equal(l.limit, 64);
    imgpipe_limiter_init(&l, 2, 64, 64);
    /* a window is at least 8 answers, even when fewer may be in flight */
    double t = 1.0;
    for (int i = 0; i < 7; i++, t += 0.1)
        assert_int_equal(imgpipe_limiter_sample(&l, t - 0.05, t, 1000, 0), 2);
    assert_int_equal(imgpipe_limiter_sample(&l, t - 0.05, t, 1000, 0), 4);
}

/* Feeds n answers of a latency-bound server (100 ms each, limit/0.1 a second). */
static void feed(imgpipe_limiter *l, int n, double *t)
{
    for (int i = 0; i < n; i++) {
        int limit = l->limit;
        *t += 0.100 / limit;
        imgpipe_limiter_sample(l, *t - 0.1, *t, 1000, 0);
        if (l->limit != limit)
            *t += 0.1;
    }
}

/* A short run (bench/get.sh's 160 images) never pays for a probe above the soft ceiling,
 * however latency-bound: it stays at soft. A long one goes on to the cap. */
static void test_above_soft_only_in_a_long_run(void **state)
{
    (void)state;
    imgpipe_limiter l;
    double t = 1.0;
    imgpipe_limiter_init(&l, 32, 64, 256);
    feed(&l, 160, &t);
    assert_int_equal(l.limit, 64);
    assert_false(l.settled);
    feed(&l, 4 * 64 - 160 - 1, &t); /* one answer short of a long run */
    assert_int_equal(l.limit, 64);
    imgpipe_limiter_init(&l, 32, 64, 256);
    assert_int_equal(settle(&l, latency_bound, 0.1), 256);
    assert_true(l.answers >= 4 * 64);
    /* the cap is a soft ceiling's own: a max below it is the ceiling */
    imgpipe_limiter_init(&l, 32, 128, 64);
    assert_int_equal(settle(&l, latency_bound, 0.1), 64);
}

/* In a long run, a probe above soft that does not pay goes back, as below soft; a run
 * that never paid to reach soft never waits there. */
static void test_long_run_probe_that_does_not_pay(void **state)
{
    (void)state;
    imgpipe_limiter l;
    imgpipe_limiter_init(&l, 32, 64, 256);
    assert_int_equal(settle(&l, knee_at_64, 0.1), 64);
    assert_true(l.answers >= 4 * 64); /* it did probe 128, after the wait */
    imgpipe_limiter_init(&l, 32, 64, 256);
    assert_int_equal(settle(&l, cpu_bound, 0.001), 32);
    assert_true(l.answers < 4 * 64);
}

/* A busy link, bodies of mixed sizes: the probe's window happens to hold smaller bodies,
 * twice the answers per second for the same bytes per second. No gain: back, and stay. */
static void test_more_answers_for_the_same_bytes_is_no_gain(void **state)
{
    (void)state;
    imgpipe_limiter l;
    imgpipe_limiter_init(&l, 32, 64, 64);
    double t = 1.0;
    for (int i = 0; i < 32; i++, t += 0.01) /* 100 answers/s of 1 MB at 32 */
        imgpipe_limiter_sample(&l, t - 0.02, t, 1e6, 0);
    assert_int_equal(l.limit, 64);
    double since = t;
    for (int i = 0; i < 64 && !l.settled; i++, t += 0.005) /* 200/s of 0.5 MB at 64 */
        imgpipe_limiter_sample(&l, t - 0.02 > since ? t - 0.02 : since, t, 0.5e6, 0);
    assert_true(l.settled);
    assert_int_equal(l.limit, 32);
}

/* The long run comes much later than the window that paid at soft (a worker's queue, a
 * host that slowed down): the probe above soft is read against a fresh window at soft.
 * Against the old one (640 answers/s, now 64/s at 1 s), 128's 128/s would look like a loss. */
static void test_long_run_measures_soft_again(void **state)
{
    (void)state;
    imgpipe_limiter l;
    imgpipe_limiter_init(&l, 32, 64, 256);
    double t = 1.0;
    feed(&l, 100, &t); /* 100 ms: at 64 and waiting, 640/s the level's rate */
    assert_int_equal(l.limit, 64);
    assert_true(l.waiting);
    t += 0.5;
    for (int i = 0; !l.settled && i < 10000; i++) { /* now 1 s per answer */
        int limit = l.limit;
        t += 1.0 / limit;
        imgpipe_limiter_sample(&l, t - 1.0, t, 1000, 0);
        if (l.answers == 4 * 64)
            assert_int_equal(l.limit, 64); /* a window at soft before the probe */
        if (l.limit != limit)
            t += 1.0;
    }
    assert_int_equal(l.limit, 256);
}

/* A reset is a new run: the start, nothing settled, no answers counted. */
static void test_reset_starts_again(void **state)
{
    (void)state;
    imgpipe_limiter l;
    imgpipe_limiter_init(&l, 32, 64, 256);
    assert_int_equal(settle(&l, latency_bound, 0.1), 256);
    imgpipe_limiter_reset(&l);
    assert_int_equal(l.limit, 32);
    assert_false(l.settled);
    assert_int_equal(l.answers, 0);
    assert_int_equal(settle(&l, cpu_bound, 0.001), 32);
}

/* n answers, each started a latency before now and waiting wait for its first byte. */
static void answers(imgpipe_limiter *l, int n, double *t, double latency, double wait)
{
    for (int i = 0; i < n; i++, *t += 0.001)
        imgpipe_limiter_sample(l, *t - latency, *t, 1000, wait);
}

/* Every one of the first answers waited 100 ms for its first byte: latency, whatever the
 * run's length. Straight to max, without a probe per level. */
static void test_latency_jumps_to_max(void **state)
{
    (void)state;
    imgpipe_limiter l;
    double t = 1.0;
    imgpipe_limiter_init(&l, 64, 64, 256);
    imgpipe_limiter_idle(&l, 0.09); /* the loop waited for the first bytes */
    answers(&l, IMGPIPE_LIMITER_FIRST - 1, &t, 0.1, 0.1);
    assert_int_equal(l.limit, 64);
    answers(&l, 1, &t, 0.1, 0.1);
    assert_int_equal(l.limit, 256);
    /* the waits stay: the jump holds, settled once a window has been read at max */
    t += 0.1;
    double since = t;
    for (int i = 0; i < 300 && !l.settled; i++, t += 0.0005)
        imgpipe_limiter_sample(&l, t - 0.1 > since ? t - 0.1 : since, t, 1000, 0.1);
    assert_true(l.settled);
    assert_int_equal(l.limit, 256);
}

/* The limit after 30 answers that each waited wait, the caller idle for idle seconds
 * before them: a run from 64, with max above it. */
static int after_answers(int max, double idle, double wait)
{
    imgpipe_limiter l;
    double t = 1.0;
    imgpipe_limiter_init(&l, 64, 64, max);
    imgpipe_limiter_idle(&l, idle);
    answers(&l, 30, &t, 0.1, wait);
    return l.limit;
}

/* A busy server answers its first requests at once, the rest later: one short wait among
 * the first answers, and there is no jump. Nor below the threshold, nor with no room, nor
 * when the caller was not idle while it waited. */
static void test_no_jump_without_latency(void **state)
{
    (void)state;
    imgpipe_limiter l;
    double t = 1.0;
    imgpipe_limiter_init(&l, 64, 64, 256);
    imgpipe_limiter_idle(&l, 0.5);
    answers(&l, 1, &t, 0.1, 0.001);
    answers(&l, 30, &t, 0.1, 0.2);
    assert_int_equal(l.limit, 64);
    assert_int_equal(after_answers(256, 0.5, IMGPIPE_LIMITER_LATENCY * 0.9), 64);
    assert_int_equal(after_answers(64, 0.5, 0.2), 64);
    /* long waits while the caller was busy (a loaded machine, other transfers' bytes to
     * read): the waits may be its own */
    assert_int_equal(after_answers(256, IMGPIPE_LIMITER_LATENCY * 0.5, 0.2), 64);
    assert_int_equal(after_answers(256, 0.5, 0.2), 256); /* and with both, it does */
    /* idle time after the first answers does not count */
    imgpipe_limiter_init(&l, 64, 64, 256);
    answers(&l, IMGPIPE_LIMITER_FIRST - 1, &t, 0.1, 0.2);
    imgpipe_limiter_idle(&l, IMGPIPE_LIMITER_LATENCY * 0.5);
    answers(&l, 1, &t, 0.1, 0.2);
    imgpipe_limiter_idle(&l, 0.5);
    answers(&l, 30, &t, 0.1, 0.2);
    assert_int_equal(l.limit, 64);
}

/* Where the threshold lies, in figures: 15 ms per answer (a host a few hundred kilometres
 * away) is latency to hide, 5 ms (a loopback server under load) is not. */
static void test_threshold_between_5_and_15_ms(void **state)
{
    (void)state;
    assert_int_equal(after_answers(256, 0.5, 0.015), 256);
    assert_int_equal(after_answers(256, 0.5, 0.005), 64);
}

/* After the jump the waits grow past twice the first ones: the server was queueing the
 * requests (a few workers, 100 ms of work each), not far. Back to the level before, from
 * where it doubles while a doubling pays, without a second jump. */
static void jump_then_waits_grow(imgpipe_limiter *l, double *t)
{
    imgpipe_limiter_init(l, 16, 64, 256);
    imgpipe_limiter_idle(l, 0.09);
    answers(l, IMGPIPE_LIMITER_FIRST, t, 0.1, 0.1);
    assert_int_equal(l->limit, 256);
    double since = *t;
    *t += 0.5;
    /* read from the first few answers after the jump: a short run has no more */
    for (int i = 0; i < 10 && l->limit == 256; i++, *t += 0.002)
        imgpipe_limiter_sample(l, since, *t, 1000, 0.5);
}

static void test_jump_back_when_waits_grow(void **state)
{
    (void)state;
    imgpipe_limiter l;
    double t = 1.0;
    jump_then_waits_grow(&l, &t);
    assert_int_equal(l.limit, 16);
    assert_false(l.settled);
    /* the silence and the long waits said their piece: no second jump */
    assert_false(imgpipe_limiter_deciding(&l));
    assert_int_equal(imgpipe_limiter_silent(&l, 64, t), 16);
    /* a queueing server: the doubling from there does not pay, and 16 stays */
    assert_int_equal(settle(&l, cpu_bound, 0.001), 16);
    /* a far server whose waits doubled with the loop's own work: the doublings pay, up to
     * max once the run is long */
    jump_then_waits_grow(&l, &t);
    assert_int_equal(settle(&l, latency_bound, 0.1), 256);
    imgpipe_limiter_reset(&l); /* a new run may jump again */
    imgpipe_limiter_idle(&l, 0.09);
    answers(&l, IMGPIPE_LIMITER_FIRST, &t, 0.1, 0.1);
    assert_int_equal(l.limit, 256);
}

/* Eight requests with no answer after IMGPIPE_LIMITER_LATENCY, the loop idle as long: the
 * jump, before any answer; the first answers (to transfers started before it) are what the
 * check after it compares with. */
static void test_silence_jumps_before_the_first_answers(void **state)
{
    (void)state;
    imgpipe_limiter l;
    double t = 1.0;
    imgpipe_limiter_init(&l, 64, 64, 256);
    imgpipe_limiter_idle(&l, IMGPIPE_LIMITER_LATENCY * 1.1);
    assert_true(imgpipe_limiter_deciding(&l));
    assert_int_equal(imgpipe_limiter_silent(&l, IMGPIPE_LIMITER_FIRST, t), 256);
    assert_false(imgpipe_limiter_deciding(&l));
    double since = t;
    t += 0.06;
    for (int i = 0; i < 64; i++, t += 0.001) /* the first round: 100 ms waits */
        imgpipe_limiter_sample(&l, since - 0.01, t, 1000, 0.1);
    for (int i = 0; i < 12; i++, t += 0.001) /* after the jump: as long, not twice */
        imgpipe_limiter_sample(&l, since + 0.001, t, 1000, 0.1);
    assert_int_equal(l.limit, 256);
    assert_int_equal(l.before, 0); /* checked: it stays */

    imgpipe_limiter_init(&l, 64, 64, 256); /* a server that queues: waits grow, back */
    imgpipe_limiter_idle(&l, IMGPIPE_LIMITER_LATENCY * 1.1);
    imgpipe_limiter_silent(&l, 40, t);
    since = t;
    for (int i = 0; i < 8; i++, t += 0.01)
        imgpipe_limiter_sample(&l, since - 0.01, t, 1000, 0.05);
    for (int i = 0; i < 10 && l.limit == 256; i++, t += 0.01)
        imgpipe_limiter_sample(&l, since + 0.001, t, 1000, 0.4);
    assert_int_equal(l.limit, 64);
    assert_true(l.jumped);
}

static void test_no_jump_on_too_little_silence(void **state)
{
    (void)state;
    imgpipe_limiter l;
    double t = 1.0;
    imgpipe_limiter_init(&l, 64, 64, 256); /* fewer than the first answers' count */
    imgpipe_limiter_idle(&l, IMGPIPE_LIMITER_LATENCY * 1.1);
    assert_int_equal(imgpipe_limiter_silent(&l, IMGPIPE_LIMITER_FIRST - 1, t), 64);
    imgpipe_limiter_init(&l, 64, 64, 256); /* the loop was busy: the silence may be its own */
    imgpipe_limiter_idle(&l, IMGPIPE_LIMITER_LATENCY * 0.5);
    assert_int_equal(imgpipe_limiter_silent(&l, 64, t), 64);
    imgpipe_limiter_init(&l, 64, 64, 256); /* an answer came at once: not far, queueing */
    imgpipe_limiter_idle(&l, IMGPIPE_LIMITER_LATENCY * 1.1);
    imgpipe_limiter_sample(&l, t - 0.002, t, 1000, 0.001);
    assert_int_equal(imgpipe_limiter_silent(&l, 63, t), 64);
    assert_false(imgpipe_limiter_deciding(&l));           /* the caller need not look any more */
    answers(&l, IMGPIPE_LIMITER_FIRST, &t, 0.001, 0.001); /* the first answers are in */
    assert_false(imgpipe_limiter_deciding(&l));
    assert_int_equal(imgpipe_limiter_silent(&l, 63, t), 64);
}

/* A server that answers some requests at once with an error status is fast, not far; a
 * failure with no byte at all (refused, reset) tells nothing of the server's waits. */
static void test_failures_among_the_first(void **state)
{
    (void)state;
    imgpipe_limiter l;
    imgpipe_limiter_init(&l, 64, 64, 256);
    imgpipe_limiter_idle(&l, IMGPIPE_LIMITER_LATENCY * 1.1);
    imgpipe_limiter_failed(&l, 0.002); /* a 503 in 2 ms */
    assert_false(imgpipe_limiter_deciding(&l));
    assert_int_equal(imgpipe_limiter_silent(&l, 63, 1.0), 64);
    imgpipe_limiter_init(&l, 64, 64, 256);
    imgpipe_limiter_idle(&l, IMGPIPE_LIMITER_LATENCY * 1.1);
    for (int i = 0; i < 2 * IMGPIPE_LIMITER_FIRST; i++)
        imgpipe_limiter_failed(&l, -1); /* connections refused */
    assert_true(imgpipe_limiter_deciding(&l));
    assert_int_equal(imgpipe_limiter_silent(&l, IMGPIPE_LIMITER_FIRST, 1.0), 256);
    imgpipe_limiter_init(&l, 64, 64, 256); /* errors, as many as the first answers */
    for (int i = 0; i < IMGPIPE_LIMITER_FIRST; i++)
        imgpipe_limiter_failed(&l, 0.2);
    assert_false(imgpipe_limiter_deciding(&l)); /* decided: waits are counted no more */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_grows_while_doubling_pays),
        cmocka_unit_test(test_steps_back_when_doubling_does_not_pay),
        cmocka_unit_test(test_answers_from_before_a_change_do_not_count),
        cmocka_unit_test(test_waves_read_over_the_round_trip),
        cmocka_unit_test(test_window_and_bounds),
        cmocka_unit_test(test_more_answers_for_the_same_bytes_is_no_gain),
        cmocka_unit_test(test_above_soft_only_in_a_long_run),
        cmocka_unit_test(test_long_run_probe_that_does_not_pay),
        cmocka_unit_test(test_long_run_measures_soft_again),
        cmocka_unit_test(test_reset_starts_again),
        cmocka_unit_test(test_latency_jumps_to_max),
        cmocka_unit_test(test_no_jump_without_latency),
        cmocka_unit_test(test_threshold_between_5_and_15_ms),
        cmocka_unit_test(test_jump_back_when_waits_grow),
        cmocka_unit_test(test_silence_jumps_before_the_first_answers),
        cmocka_unit_test(test_no_jump_on_too_little_silence),
        cmocka_unit_test(test_failures_among_the_first),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
