/*
 * Stream configs exactly as they were: the config a backup holds (its
 * backup.json) compared with the config the target server reports after the
 * restore.
 *
 * Why it exists: a server accepts and silently drops config members it does
 * not know (nats-server 2.10.27 drops allow_msg_ttl and allow_msg_counter,
 * 2.9 drops metadata, subject_transform, compression ...), so a restore into
 * an older server can lose a feature without any error. The consumers have
 * the same comparison (xorb_consumers.h); this is the stream's.
 */
#ifndef XORB_STREAMCFG_H
#define XORB_STREAMCFG_H

#include <nats/nats.h>

#include "xorb_backup.h"
#include "xorb_buf.h"
#include "xorb_error.h"
#include "xorb_json.h"

/*
 * Compares the backup's stream config with the server's. A member of backup
 * that server does not report is named as a feature the server does not
 * have ("allow_msg_ttl true is not kept by this server (...)"), unless its
 * value is false, 0, "", {} or [] (what a server without it does anyway);
 * a member with another value with both values; server-added metadata keys (_nats.*)
 * and members only the server reports (its defaults) are ignored, and so are
 * the members named in ignore (NULL-terminated, may be NULL; e.g.
 * "num_replicas" when the restore changed it). Appends "; "-separated
 * descriptions of the first 8 differences to out (may be NULL) and returns
 * their number (0: the same).
 */
unsigned xorb_streamcfg_diff(const cJSON *backup, const cJSON *server, const char *const *ignore,
			     struct xorb_buf *out);

/*
 * After a restore: reads STREAM.INFO of stream and compares its config with
 * the "config" of backup_json (backup.json as the archive holds it). When
 * they differ, reports one warning through note naming the stream and each
 * difference, and sets *differ to 1 (else 0). replicas_changed: the restore
 * set num_replicas itself (--replicas), so it is not compared. Returns
 * XORB_OK (a difference is not an error), XORB_ECORRUPT when backup_json
 * has no config, or the STREAM.INFO failure.
 */
int xorb_streamcfg_check(natsConnection *nc, const char *stream, const char *backup_json, size_t len,
			 int replicas_changed, int timeout_ms, xorb_note_fn note, void *note_arg,
			 unsigned *differ, struct xorb_error *err);

#endif
