/* A two-thread deadlock: thread 1 resolves a, whose resolver needs b;
 * thread 2 resolves b, whose resolver needs a. Exactly one of the inner
 * accesses is told LAZY_BIND_DEADLOCK instead of blocking forever. Its
 * resolver passes the deadlock up by its status, so the other thread, which
 * waited for that attempt, gets the same deadlock, and so do both outer
 * accesses. (The Rust driver kills this program if it hangs.) */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>

#include "check.h"

static lazy_bind_engine *engine;
static lazy_bind_handle h_a, h_b;
static pthread_barrier_t both_resolving;
static int deadlocks;
static size_t deadlock_chain_len;

static uint32_t needs(void *userdata, const lazy_bind_engine *engine_arg,
                      lazy_bind_handle handle, void **value_out,
                      void **runtime_error_out) {
  (void)handle, (void)runtime_error_out;
  /* Both threads own their entry before either asks for the other. */
  pthread_barrier_wait(&both_resolving);
  const lazy_bind_handle *other = (const lazy_bind_handle *)userdata;
  lazy_bind_error *error = NULL;
  uint32_t status = lazy_bind_resolve(engine_arg, *other, "deadlock.c", 30, value_out, &error);
  if (status == LAZY_BIND_DEADLOCK) {
    __atomic_fetch_add(&deadlocks, 1, __ATOMIC_RELAXED);
    deadlock_chain_len = lazy_bind_error_chain_len(error);
    CHECK_STR(lazy_bind_error_access_file(error), "deadlock.c");
  }
  lazy_bind_error_free(&error);
  CHECK(status != LAZY_BIND_OK);
  return status;
}

static void *access_entry(void *arg) {
  lazy_bind_handle *handle = (lazy_bind_handle *)arg;
  void *value = NULL;
  uint32_t status = lazy_bind_resolve(engine, *handle, "main.c", 1, &value, NULL);
  CHECK(status == LAZY_BIND_DEADLOCK);
  return NULL;
}

int main(void) {
  CHECK_OK(lazy_bind_engine_new(NULL, 0, &engine));
  CHECK_OK(lazy_bind_entry_create(engine, "a", "a.py", 1, needs, &h_b, NULL, &h_a));
  CHECK_OK(lazy_bind_entry_create(engine, "b", "b.py", 1, needs, &h_a, NULL, &h_b));
  CHECK(pthread_barrier_init(&both_resolving, NULL, 2) == 0);

  pthread_t t1, t2;
  CHECK(pthread_create(&t1, NULL, access_entry, &h_a) == 0);
  CHECK(pthread_create(&t2, NULL, access_entry, &h_b) == 0);
  CHECK(pthread_join(t1, NULL) == 0);
  CHECK(pthread_join(t2, NULL) == 0);

  /* Both inner accesses: the detecting one, and the one that waited for
   * the attempt that failed with it. */
  CHECK(deadlocks == 2);
  /* The detecting thread's own resolution, then the waits back to itself. */
  CHECK(deadlock_chain_len >= 2);
  pthread_barrier_destroy(&both_resolving);
  lazy_bind_engine_free(&engine);
  printf("deadlock: ok\n");
  return 0;
}
