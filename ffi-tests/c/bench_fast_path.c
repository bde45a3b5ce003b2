/* Benchmark of a resolved access through the header's inline fast path,
 * lazy_bind_get_fast, against a raw acquire load of a pointer (what a
 * runtime pays to read an ordinary, non-lazy binding), in the same run.
 *
 * Both loops read their pointer through a volatile location each iteration,
 * so the compiler can neither hoist nor merge the loads, and both check the
 * result for NULL and fold it into a checksum. Each timing is the best of
 * ROUNDS rounds. Prints the ratio fast/raw (target: <= 1.5). */
#define _POSIX_C_SOURCE 200809L
#include <time.h>

#include "check.h"

#define ITERATIONS 20000000L
#define ROUNDS 7

static double seconds(void) {
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  return (double)now.tv_sec + (double)now.tv_nsec * 1e-9;
}

int main(void) {
  static int object = 42;
  lazy_bind_engine *engine = NULL;
  lazy_bind_handle handle;
  CHECK_OK(lazy_bind_engine_new(NULL, 0, &engine));
  CHECK_OK(lazy_bind_entry_create_resolved(engine, "json", "bench.c", 1, &object, &handle));
  const lazy_bind_slot *slot = NULL;
  CHECK_OK(lazy_bind_engine_slot(engine, handle, &slot));
  const uint64_t stamp = handle.stamp;

  void *raw = &object;
  void *const *volatile raw_location = &raw;
  const lazy_bind_slot *volatile slot_location = slot;

  uintptr_t checksum = 0;
  double best_raw = 1e9, best_fast = 1e9;
  for (int round = 0; round < ROUNDS; round++) {
    double start = seconds();
    for (long i = 0; i < ITERATIONS; i++) {
      void *value = __atomic_load_n(raw_location, __ATOMIC_ACQUIRE);
      CHECK(value != NULL);
      checksum ^= (uintptr_t)value + (uintptr_t)i;
    }
    double raw_time = seconds() - start;

    start = seconds();
    for (long i = 0; i < ITERATIONS; i++) {
      void *value = lazy_bind_get_fast(slot_location, stamp);
      CHECK(value != NULL);
      checksum ^= (uintptr_t)value + (uintptr_t)i;
    }
    double fast_time = seconds() - start;

    if (raw_time < best_raw) best_raw = raw_time;
    if (fast_time < best_fast) best_fast = fast_time;
  }
  lazy_bind_engine_free(&engine);

  printf("raw acquire load: %.3f ns/access\n", best_raw / ITERATIONS * 1e9);
  printf("lazy_bind_get_fast: %.3f ns/access\n", best_fast / ITERATIONS * 1e9);
  printf("ratio: %.3f\n", best_fast / best_raw);
  /* Both loops fold the same values: the checksum is 0 after an even
   * number of identical passes, which also keeps the loops alive. */
  printf("checksum: %lu\n", (unsigned long)checksum);
  return checksum == 0 ? 0 : 1;
}
