/* A runtime with a global lock (a GIL): every thread holds it while it
 * runs runtime code and calls into the engine. Several threads race on one
 * entry whose resolver drops the lock while it works (as CPython does during
 * I/O). The waiters must release the lock in before_block and take it back
 * in after_wake; without those hooks this program deadlocks. */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <time.h>

#include "check.h"

#define THREADS 4

static pthread_mutex_t gil = PTHREAD_MUTEX_INITIALIZER;
static lazy_bind_engine *engine;
static lazy_bind_handle handle;
static test_object module = {"module", 1};
static test_runtime runtime;
static int resolver_calls;
static pthread_barrier_t start;

static void release_gil(void *userdata) {
  test_runtime *rt = (test_runtime *)userdata;
  __atomic_fetch_add(&rt->blocks, 1, __ATOMIC_RELAXED);
  CHECK(pthread_mutex_unlock(&gil) == 0);
}

static void take_gil(void *userdata) {
  test_runtime *rt = (test_runtime *)userdata;
  CHECK(pthread_mutex_lock(&gil) == 0);
  __atomic_fetch_add(&rt->wakes, 1, __ATOMIC_RELAXED);
}

static void sleep_ms(long ms) {
  struct timespec delay = {0, ms * 1000000L};
  nanosleep(&delay, NULL);
}

static uint32_t slow_import(void *userdata, const lazy_bind_engine *engine_arg,
                            lazy_bind_handle h, void **value_out, void **runtime_error_out) {
  (void)userdata, (void)engine_arg, (void)h, (void)runtime_error_out;
  __atomic_fetch_add(&resolver_calls, 1, __ATOMIC_RELAXED);
  /* "Read the module file": drop the GIL so other threads can run, and
   * keep working until every other thread waits for this resolution. They
   * can only get here by releasing the GIL in before_block. */
  CHECK(pthread_mutex_unlock(&gil) == 0);
  while (__atomic_load_n(&runtime.blocks, __ATOMIC_RELAXED) < THREADS - 1) {
    sleep_ms(1);
  }
  CHECK(pthread_mutex_lock(&gil) == 0);
  *value_out = test_new_ref(&module);
  return LAZY_BIND_OK;
}

static void *worker(void *arg) {
  (void)arg;
  pthread_barrier_wait(&start);
  CHECK(pthread_mutex_lock(&gil) == 0);
  void *value = NULL;
  CHECK_OK(lazy_bind_resolve(engine, handle, "worker.py", 1, &value, NULL));
  CHECK(value == &module);
  CHECK(pthread_mutex_unlock(&gil) == 0);
  return NULL;
}

int main(void) {
  lazy_bind_runtime_hooks hooks = test_hooks(&runtime);
  hooks.before_block = release_gil;
  hooks.after_wake = take_gil;
  CHECK_OK(lazy_bind_engine_new(&hooks, 0, &engine));
  CHECK_OK(lazy_bind_entry_create(engine, "slow", "main.py", 1, slow_import, NULL, NULL,
                                  &handle));
  CHECK(pthread_barrier_init(&start, NULL, THREADS) == 0);

  pthread_t threads[THREADS];
  for (int i = 0; i < THREADS; i++) {
    CHECK(pthread_create(&threads[i], NULL, worker, NULL) == 0);
  }
  for (int i = 0; i < THREADS; i++) {
    CHECK(pthread_join(threads[i], NULL) == 0);
  }

  CHECK(resolver_calls == 1);
  /* Every thread that blocked released the lock and took it back. */
  CHECK(runtime.blocks == runtime.wakes);
  CHECK(runtime.blocks == THREADS - 1);
  pthread_barrier_destroy(&start);
  lazy_bind_engine_free(&engine);
  CHECK(test_refs(&module) == 1);
  printf("gil: ok\n");
  return 0;
}
