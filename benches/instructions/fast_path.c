/* Instruction-count probe of the header's inline fast path, for
 * scripts/bench-instructions.sh: `fast_path CASE N` runs one case N times
 * and the script counts the process's instructions under callgrind at N
 * and 2N (the setup cancels out), then subtracts the empty loop.
 *
 * Cases (as in ffi-tests/c/bench_fast_path.c, which times them):
 *   empty  the loop alone: read the location through its volatile
 *          pointer, check it for NULL, fold it into a checksum;
 *   raw    the same with a raw acquire load of an ordinary binding;
 *   fast   the same with lazy_bind_get_fast on a resolved entry. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lazy_bind.h"

static void fail(const char *what) {
  fprintf(stderr, "fast_path: %s\n", what);
  exit(1);
}

int main(int argc, char **argv) {
  if (argc != 3) fail("usage: fast_path empty|raw|fast N");
  const long n = strtol(argv[2], NULL, 10);
  static int object = 42;
  lazy_bind_engine *engine = NULL;
  lazy_bind_handle handle;
  const lazy_bind_slot *slot = NULL;
  if (lazy_bind_engine_new(NULL, 0, &engine) != LAZY_BIND_OK) fail("engine_new");
  if (lazy_bind_entry_create_resolved(engine, "json", "bench.c", 1, &object, &handle) !=
      LAZY_BIND_OK) fail("create_resolved");
  if (lazy_bind_engine_slot(engine, handle, &slot) != LAZY_BIND_OK) fail("engine_slot");
  const uint64_t stamp = handle.stamp;

  void *raw = &object;
  void *const *volatile raw_location = &raw;
  const lazy_bind_slot *volatile slot_location = slot;
  uintptr_t checksum = 0;
  if (strcmp(argv[1], "empty") == 0) {
    for (long i = 0; i < n; i++) {
      uintptr_t value = (uintptr_t)raw_location;
      if (value == 0) abort();
      checksum ^= (uintptr_t)value + (uintptr_t)i;
    }
  } else if (strcmp(argv[1], "raw") == 0) {
    for (long i = 0; i < n; i++) {
      void *value = __atomic_load_n(raw_location, __ATOMIC_ACQUIRE);
      if (value == NULL) abort();
      checksum ^= (uintptr_t)value + (uintptr_t)i;
    }
  } else if (strcmp(argv[1], "fast") == 0) {
    for (long i = 0; i < n; i++) {
      void *value = lazy_bind_get_fast(slot_location, stamp);
      if (value == NULL) abort();
      checksum ^= (uintptr_t)value + (uintptr_t)i;
    }
  } else {
    fail("unknown case");
  }
  lazy_bind_engine_free(&engine);
  /* Printed, so the loops stay. */
  printf("checksum: %lu\n", (unsigned long)checksum);
  return 0;
}
