/*
 * Prometheus text-format metrics for node_exporter's textfile collector.
 *
 * One file holds every tenant's samples; a run updates its own tenant's
 * samples and keeps the others, under an exclusive lock (<path>.lock), and
 * replaces the file atomically (temp + fsync + rename) so the collector never
 * reads half a file. Counters (xorb_*_runs_total) persist across runs in the
 * file itself.
 */
#ifndef XORB_METRICS_H
#define XORB_METRICS_H

#include <stdint.h>

#include "xorb_error.h"

struct xorb_run_metrics {
	const char *op;	    /* "backup" or "restore" */
	const char *tenant;
	const char *result; /* "ok", "warning", "failed" */
	double finished;    /* unix time of the end of the run */
	double duration;
	uint64_t bytes, messages, streams;
};

/* Records one run into the metrics file at path. */
int xorb_metrics_record(const char *path, const struct xorb_run_metrics *r, struct xorb_error *err);

#endif
