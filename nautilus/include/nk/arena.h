/* arena.h - the HRT malloc arena (the malloc override, hvm/README.md
 * "Overrides"). Plain C with no system calls and no kernel state: Nautilus
 * builds it for the HRT, and libmv builds the same file so a ROS thread can
 * free an arena pointer (after main returns, in atexit handlers, with the HRT
 * off). All state lives in the arena's first page, in process memory that
 * both sides share, under one spinlock. */
#ifndef NK_ARENA_H
#define NK_ARENA_H
#include <stddef.h>
#include <stdint.h>

/* Every block starts with this header, 16 bytes before the payload. */
struct mv_arena_hdr {
	uint32_t bin; /* size class, or MV_ARENA_ALIGNED for an aligned alias */
	uint32_t off; /* aligned alias: payload - off is the real payload */
	uint64_t cap; /* usable bytes from this payload on */
};
#define MV_ARENA_ALIGNED 0xffffffffu
#define MV_ARENA_BINS	 176

struct mv_arena {
	uint32_t lock;
	uint32_t magic;
	uint64_t next, end;	      /* bump region */
	uint64_t bins[MV_ARENA_BINS]; /* free-list heads (payload addresses) */
	uint64_t nr_malloc, nr_free;
};
#define MV_ARENA_MAGIC 0x4152454eu

/* Default visibility: libmv.so exports them to the wrappers in the program. */
#define MV_ARENA_API __attribute__((visibility("default")))
MV_ARENA_API void mv_arena_init(uint64_t base, uint64_t size);
MV_ARENA_API void *mv_arena_malloc(uint64_t base, size_t n);
MV_ARENA_API void *mv_arena_memalign(uint64_t base, size_t align, size_t n);
MV_ARENA_API void mv_arena_free(uint64_t base, void *p);
MV_ARENA_API size_t mv_arena_usable(const void *p);

#endif
