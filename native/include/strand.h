/* The C ABI of the Rust storage engine (native/src/lib.rs implements it; binding/addon.cc
 * calls it). Every function returns 0 on success or a negative STRAND_E_* code; the
 * message of the last error on the calling thread is available from strand_last_error().
 * Offsets and timestamps are int64; JS sees them as numbers (safe below 2^53). */
#ifndef STRAND_H
#define STRAND_H
#include <stdint.h>
#include <stddef.h>
#ifdef __cplusplus
extern "C" {
#endif

enum {
  STRAND_OK = 0,
  STRAND_E_IO = -1,             /* disk error: Kafka KAFKA_STORAGE_ERROR (56) */
  STRAND_E_CORRUPT = -2,        /* bad CRC, bad lengths: CORRUPT_MESSAGE (2) */
  STRAND_E_INVALID_RECORD = -3, /* wrong magic, bad batch fields: INVALID_RECORD (87) */
  STRAND_E_TOO_LARGE = -4,      /* batch above max_batch_bytes: MESSAGE_TOO_LARGE (10) */
  STRAND_E_OUT_OF_RANGE = -5,   /* offset outside [log start, log end]: OFFSET_OUT_OF_RANGE (1) */
  STRAND_E_INVALID_ARG = -6,    /* caller error (bad config value, closed log) */
  STRAND_E_CLOSED = -7,         /* the log was closed */
  STRAND_E_TIMEOUT = -8,        /* sendfile: the peer stopped reading past the timeout */
  STRAND_E_PEER = -9            /* sendfile: the peer reset / closed the connection */
};

typedef struct strand_log strand_log;

typedef struct {
  uint64_t segment_bytes;        /* segment.bytes, default 1 GiB */
  int64_t segment_ms;            /* segment.ms, default 7 days */
  uint32_t segment_index_bytes;  /* segment.index.bytes, default 10 MiB */
  uint32_t index_interval_bytes; /* index.interval.bytes, default 4096 */
  int64_t flush_messages;        /* flush.messages; <= 0 or INT64_MAX: never */
  int64_t flush_ms;              /* flush.ms; <= 0 or INT64_MAX: never (the JS side runs the timer) */
  int64_t recovery_point;        /* from the log dir's checkpoint; -1 when unknown */
  int64_t log_start_offset;      /* from the log dir's checkpoint; -1 when unknown */
} strand_log_config;

typedef struct {
  int64_t base_offset;       /* first offset assigned */
  int64_t last_offset;       /* last offset assigned */
  int64_t log_append_time;   /* now_ms when timestamp_type is LogAppendTime, else -1 */
  int64_t max_timestamp;     /* largest batch max timestamp appended */
  int64_t log_start_offset;
  uint32_t batch_count;
  uint32_t record_count;
  uint64_t bytes;
  int32_t needs_flush;       /* flush.messages reached: the caller should schedule a flush */
} strand_append_result;

typedef struct {
  int32_t fd;                /* the segment's open fd, owned by the log; dup before the next
                                strand_files_sweep (see below) to use it later */
  uint32_t position;
  uint32_t length;
  int64_t segment_base_offset;
} strand_region;

typedef struct {
  int64_t base_offset;
  uint64_t size_bytes;
  int64_t largest_timestamp; /* -1 when empty */
  int64_t created_ms;        /* when the segment was rolled in (for segment.ms) */
  int64_t last_modified_ms;
  int32_t is_active;         /* 1 for the active (last) segment */
} strand_segment_info;

const char* strand_last_error(void);

/* Opens (creating if needed) the partition directory `dir`; runs recovery. */
int32_t strand_log_open(const char* dir, const strand_log_config* cfg, strand_log** out);
/* Applies new config values (segment.*, index.*, flush.*) to a live log. */
int32_t strand_log_configure(strand_log* log, const strand_log_config* cfg);
/* Appends every batch in buf (one or more v2 batches back to back), validating all of
 * them first: on error nothing is appended. timestamp_type: 0 CreateTime, 1 LogAppendTime
 * (the batch's timestamp-type attribute bit and max timestamp are set to now_ms; both lie
 * inside the CRC, so the CRC is recomputed). max_batch_bytes <= 0: no limit. */
int32_t strand_log_append(strand_log* log, const uint8_t* buf, size_t len, int32_t leader_epoch,
                          int32_t timestamp_type, int64_t now_ms, int32_t max_batch_bytes,
                          strand_append_result* out);
/* The same append on one of the engine's append threads (STRAND_APPEND_THREADS, default
 * 2); appends submitted with the same lane number run in submission order. On 0 the
 * callback runs once, on that thread (result valid during the call when status is 0, text
 * in msg otherwise), and buf must stay valid and unchanged until then; on an error return
 * it is not called. */
typedef void (*strand_append_cb)(void* ctx, int32_t status, const strand_append_result* result, const char* msg);
int32_t strand_log_append_submit(strand_log* log, const uint8_t* buf, size_t len, int32_t leader_epoch,
                                 int32_t timestamp_type, int64_t now_ms, int32_t max_batch_bytes, uint32_t lane,
                                 strand_append_cb cb, void* ctx);
/* Regions of whole batches starting at the batch that holds `offset`, up to max_bytes
 * (the first batch is returned whole even if larger when min_one_batch), never past
 * max_offset (exclusive; -1: the log end). *n_out regions written (at most cap; more
 * means the caller should retry with a larger cap, *n_needed tells). */
int32_t strand_log_read(strand_log* log, int64_t offset, uint32_t max_bytes, int64_t max_offset,
                        int32_t min_one_batch, strand_region* regions, size_t cap, size_t* n_out);
int32_t strand_pread(int32_t fd, uint8_t* dst, uint32_t position, uint32_t length);
int64_t strand_log_start_offset(strand_log* log);
int64_t strand_log_end_offset(strand_log* log);
int64_t strand_log_recovery_point(strand_log* log);
uint64_t strand_log_size_bytes(strand_log* log);
/* First offset whose batch max timestamp >= ts; *offset = -1 when none. */
int32_t strand_log_offset_for_timestamp(strand_log* log, int64_t ts, int64_t* offset, int64_t* timestamp);
/* Offset and value of the largest timestamp in the log (ListOffsets MAX_TIMESTAMP). */
int32_t strand_log_max_timestamp(strand_log* log, int64_t* offset, int64_t* timestamp);
int32_t strand_log_truncate_to(strand_log* log, int64_t offset);
/* Deletes whole segments entirely below offset (never the active one); raises the log
 * start offset to at least offset; *deleted = segments removed.
 * Deleted segments (here, by truncation and by replacement) are retired Kafka's way
 * (file.delete.delay.ms): their files are renamed to <name>.deleted and the .log stays
 * open, so regions already handed out keep reading, until strand_log_remove_deleted. */
int32_t strand_log_delete_segments_before(strand_log* log, int64_t offset, uint32_t* deleted);
/* The number of retiring operations so far (0 at open); each retired segment carries the
 * value of the operation that retired it. */
int64_t strand_log_deleted_generation(strand_log* log);
/* Closes and unlinks the segments retired at or before up_to_generation (the caller runs
 * the file.delete.delay.ms timer); *remaining = retired segments still waiting. Close
 * removes them all; open removes leftover *.deleted files. */
int32_t strand_log_remove_deleted(strand_log* log, int64_t up_to_generation, uint32_t* remaining);
/* The log cleaner's swap: replaces the n contiguous non-active segments with base offsets
 * old_bases by cleaned_path, which must be <dir>/<20-digit old_bases[0]>.log.cleaned
 * holding whole v2 batches with their original offsets (increasing, gaps and empty
 * batches allowed) in [old_bases[0], base of the segment after the last old one).
 * Validates and indexes the file without the log's lock, then under it renames
 * .cleaned -> .swap (decided: a crash from here on completes the swap on open), retires
 * the old segments (.deleted), renames .swap -> .log. Errors before the decision leave
 * the log unchanged (STRAND_E_INVALID_ARG for a bad file or arguments, or when the
 * segments changed meanwhile); the .cleaned file is left to the caller. */
int32_t strand_log_replace_segments(strand_log* log, const int64_t* old_bases, size_t n, const char* cleaned_path);
/* Raises the log start offset (DeleteRecords) without deleting data. */
int32_t strand_log_set_start_offset(strand_log* log, int64_t offset);
int32_t strand_log_roll(strand_log* log);
int32_t strand_log_segments(strand_log* log, strand_segment_info* out, size_t cap, size_t* n_out);
/* fsync everything up to the log end; safe from a worker thread while the JS thread appends. */
int32_t strand_log_flush(strand_log* log);
/* clean != 0 writes the clean-shutdown marker. Frees the handle. */
int32_t strand_log_close(strand_log* log, int32_t clean);
/* Closes all files and removes the directory. Frees the handle. */
int32_t strand_log_delete(strand_log* log);

/* Open segment files. A segment's .log fd and index maps are opened on first use and
 * closed again when more segments are open than the limit (least recently used first) or
 * when idle (strand_files_sweep). A region's fd from strand_log_read stays valid until
 * the next sweep at least, and as long as the segment's files stay open: duplicate it
 * (strand_dup_fd) before the next sweep to keep it longer. Sweep where no region waits
 * for its dup (Node: from the event loop); with a limit set, sweep regularly, or the fds
 * of segments evicted in the read epoch that handed them out accumulate. */
typedef struct {
  uint64_t open_segments;      /* segments with open files */
  uint64_t parked_fds;         /* fds of closed segments waiting for the next sweep */
  uint64_t limit;              /* 0: no limit */
  uint64_t opened_total;
  uint64_t evicted_total;      /* closed for the limit */
  uint64_t idle_closed_total;  /* closed for being idle */
} strand_files_stats;
/* 0: no limit (the default). Closes least recently used segments above it now. */
int32_t strand_files_set_limit(uint64_t max_open_segments);
/* Ends the read epoch, closes parked fds, closes segments unused for idle_ms (< 0: none);
 * `now_ms` is the caller's clock. `out` (may be null) receives the stats after. */
int32_t strand_files_sweep(int64_t now_ms, int64_t idle_ms, strand_files_stats* out);
int32_t strand_files_get_stats(strand_files_stats* out);
uint64_t strand_files_parked(void);
/* The process's RLIMIT_NOFILE; with raise != 0 the soft limit is first raised to the hard
 * one (fs.nr_open when that is unlimited), as far as the kernel allows. */
int32_t strand_nofile_limit(int32_t raise, uint64_t* soft, uint64_t* hard);

/* glibc malloc: at most arena_max arenas and every allocation of mmap_threshold_bytes or
 * more mapped (each ignored when <= 0). 1 when applied, 0 where the libc has no mallopt. */
int32_t strand_malloc_tune(int32_t arena_max, int32_t mmap_threshold_bytes);

/* CRC-32C (Castagnoli), hardware when available. */
uint32_t strand_crc32c(uint32_t crc, const uint8_t* data, size_t len);

/* The record-level checks of one whole uncompressed v2 batch (header included): 0 every
 * record passed; 1 well formed, but some record's timestamp is outside [min, max] (ms) or
 * it has no key while require_key is set; -1 malformed records (CORRUPT_MESSAGE); -2 the
 * record count, last offset delta and records' offset deltas disagree (INVALID_RECORD). */
int32_t strand_check_records(const uint8_t* batch, size_t len, double min_timestamp_ms, double max_timestamp_ms, int32_t require_key);

/* Zero-copy transfer on one of the engine's epoll threads (STRAND_SENDFILE_THREADS,
 * default 4): a socket's next transfer must wait for the previous one's callback. The fds
 * are duplicated by the caller (F_DUPFD_CLOEXEC) and owned by the transfer: closed when it
 * completes. The callback runs on that thread with status 0 or STRAND_E_*; text in msg. */
typedef void (*strand_send_cb)(void* ctx, int32_t status, uint64_t bytes_sent, const char* msg);
typedef struct { int32_t file_fd; uint32_t position; uint32_t length; } strand_send_region;
int32_t strand_dup_fd(int32_t fd);
int32_t strand_sendfile_submit(int32_t socket_fd, const strand_send_region* regions, size_t n,
                               int64_t timeout_ms, strand_send_cb cb, void* ctx);

#ifdef __cplusplus
}
#endif
#endif
