/* A deadlock through a lock of the runtime's own (an import lock): thread A
 * resolves entry E, whose resolver needs lock M; thread B holds M and
 * accesses E. M is a lazy_bind_runtime_lock (its holder reported on each
 * acquisition and release) and lazy_bind_external_wait_begin puts A's wait
 * on it into the engine's wait-for graph, so whichever thread closes the
 * cycle is told LAZY_BIND_DEADLOCK instead of blocking. Both orders:
 *   1. A waits for M first: B's access to E is the deadlock;
 *   2. B waits for E first: A's external wait is the deadlock.
 * (The Rust driver kills this program if it hangs.) */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <time.h>

#include "check.h"

static lazy_bind_engine *engine;
static lazy_bind_handle entry;
static pthread_mutex_t lock_m = PTHREAD_MUTEX_INITIALIZER;
static lazy_bind_runtime_lock *graph_m; /* M as the wait-for graph sees it */
static int a_resolving, b_holds_m, a_waits_for_m, b_waits_for_entry;
static int order;
static uint32_t a_begin_status, b_resolve_status;
static size_t chain_len;
static char chain_first[64], chain_last[64];
static bool first_is_lock, last_is_lock;
static test_object value = {"value", 1};

static void pause_briefly(void) {
  struct timespec ms = {0, 1000000};
  nanosleep(&ms, NULL);
}

static void await_flag(int *flag) {
  while (!__atomic_load_n(flag, __ATOMIC_ACQUIRE)) {
    pause_briefly();
  }
}

static void set_flag(int *flag) { __atomic_store_n(flag, 1, __ATOMIC_RELEASE); }

/* Keeps the deadlock report's chain: its ends name what the cycle runs
 * through. */
static void keep_chain(const lazy_bind_error *error) {
  chain_len = lazy_bind_error_chain_len(error);
  CHECK(chain_len >= 2);
  snprintf(chain_first, sizeof chain_first, "%s", lazy_bind_error_chain_name(error, 0));
  snprintf(chain_last, sizeof chain_last, "%s",
           lazy_bind_error_chain_name(error, chain_len - 1));
  first_is_lock = lazy_bind_error_chain_is_runtime_lock(error, 0);
  last_is_lock = lazy_bind_error_chain_is_runtime_lock(error, chain_len - 1);
  CHECK(!lazy_bind_error_chain_is_runtime_lock(error, chain_len));
}

/* B blocks on A's resolution: hooked so order 2 knows when. */
static void before_block(void *userdata) {
  (void)userdata;
  set_flag(&b_waits_for_entry);
}

static uint32_t needs_lock_m(void *userdata, const lazy_bind_engine *engine_arg,
                             lazy_bind_handle handle, void **value_out,
                             void **runtime_error_out) {
  (void)userdata, (void)engine_arg, (void)handle, (void)runtime_error_out;
  set_flag(&a_resolving);
  await_flag(&b_holds_m);
  if (order == 2) {
    await_flag(&b_waits_for_entry);
  }
  lazy_bind_external_wait *wait = NULL;
  lazy_bind_error *error = NULL;
  a_begin_status = lazy_bind_external_wait_begin(graph_m, "a.py", 3, &wait, &error);
  if (a_begin_status != LAZY_BIND_OK) {
    CHECK(wait == NULL);
    keep_chain(error);
    lazy_bind_error_free(&error);
    return a_begin_status; /* the acquisition fails instead of blocking */
  }
  set_flag(&a_waits_for_m);
  CHECK(pthread_mutex_lock(&lock_m) == 0);
  CHECK_OK(lazy_bind_runtime_lock_acquired(graph_m));
  CHECK_OK(lazy_bind_external_wait_end(&wait));
  CHECK(wait == NULL);
  CHECK_OK(lazy_bind_runtime_lock_released(graph_m));
  CHECK(pthread_mutex_unlock(&lock_m) == 0);
  *value_out = test_new_ref(&value);
  return LAZY_BIND_OK;
}

static void *thread_a(void *arg) {
  (void)arg;
  void *result = NULL;
  uint32_t status = lazy_bind_resolve(engine, entry, "main.py", 1, &result, NULL);
  CHECK(order == 1 ? status == LAZY_BIND_OK && result == &value
                   : status == LAZY_BIND_DEADLOCK);
  return NULL;
}

static void *thread_b(void *arg) {
  (void)arg;
  CHECK(pthread_mutex_lock(&lock_m) == 0);
  CHECK_OK(lazy_bind_runtime_lock_acquired(graph_m));
  set_flag(&b_holds_m);
  /* E must be A's to resolve before B touches it. */
  await_flag(order == 1 ? &a_waits_for_m : &a_resolving);
  void *result = NULL;
  lazy_bind_error *error = NULL;
  b_resolve_status = lazy_bind_resolve(engine, entry, "m.py", 5, &result, &error);
  if (b_resolve_status == LAZY_BIND_DEADLOCK) {
    keep_chain(error);
  }
  lazy_bind_error_free(&error);
  CHECK_OK(lazy_bind_runtime_lock_released(graph_m));
  CHECK(pthread_mutex_unlock(&lock_m) == 0);
  return NULL;
}

static void run(int which) {
  order = which;
  a_resolving = b_holds_m = a_waits_for_m = b_waits_for_entry = 0;
  chain_len = 0;
  test_runtime runtime = {0, 0, 0, 0};
  lazy_bind_runtime_hooks hooks = test_hooks(&runtime);
  hooks.before_block = before_block;
  CHECK_OK(lazy_bind_engine_new(&hooks, 0, &engine));
  CHECK_OK(lazy_bind_runtime_lock_new("lock M", "runtime.c", 7, &graph_m));
  CHECK_OK(lazy_bind_entry_create(engine, "e", "e.py", 1, needs_lock_m, NULL, NULL, &entry));
  pthread_t a, b;
  CHECK(pthread_create(&b, NULL, thread_b, NULL) == 0);
  CHECK(pthread_create(&a, NULL, thread_a, NULL) == 0);
  CHECK(pthread_join(a, NULL) == 0);
  CHECK(pthread_join(b, NULL) == 0);
  lazy_bind_runtime_lock_free(&graph_m);
  CHECK(graph_m == NULL);
  lazy_bind_engine_free(&engine);
}

int main(void) {
  /* 1. A waits for M, then B (holding M) accesses E: B is told. */
  run(1);
  CHECK(a_begin_status == LAZY_BIND_OK);
  CHECK(b_resolve_status == LAZY_BIND_DEADLOCK);
  CHECK_STR(chain_first, "e");
  CHECK_STR(chain_last, "lock M");
  CHECK(!first_is_lock && last_is_lock);

  /* 2. B waits for E, then A would wait for M: A is told, its resolver
   * passes the deadlock up by its status, and B gets that deadlock. */
  run(2);
  CHECK(a_begin_status == LAZY_BIND_DEADLOCK);
  CHECK(b_resolve_status == LAZY_BIND_DEADLOCK);
  CHECK_STR(chain_first, "e");
  CHECK_STR(chain_last, "e");
  CHECK(!first_is_lock && !last_is_lock);

  /* Waiting for a lock this thread holds is a deadlock too; misuse is a
   * status, and nothing is recorded. */
  lazy_bind_runtime_lock *held = NULL;
  CHECK_OK(lazy_bind_runtime_lock_new("held", NULL, 0, &held));
  CHECK_OK(lazy_bind_runtime_lock_acquired(held));
  lazy_bind_external_wait *wait = NULL;
  lazy_bind_error *self_wait = NULL;
  CHECK_STATUS(lazy_bind_external_wait_begin(held, NULL, 0, &wait, &self_wait),
               LAZY_BIND_DEADLOCK);
  CHECK(wait == NULL);
  CHECK(lazy_bind_error_chain_len(self_wait) == 1);
  CHECK(lazy_bind_error_chain_is_runtime_lock(self_wait, 0));
  CHECK(!lazy_bind_error_chain_is_runtime_lock(NULL, 0));
  lazy_bind_error_free(&self_wait);
  CHECK_OK(lazy_bind_runtime_lock_released(held));
  CHECK_STATUS(lazy_bind_external_wait_begin(NULL, NULL, 0, &wait, NULL),
               LAZY_BIND_NULL_ARGUMENT);
  CHECK_STATUS(lazy_bind_runtime_lock_new(NULL, NULL, 0, &held), LAZY_BIND_NULL_ARGUMENT);
  CHECK_STATUS(lazy_bind_runtime_lock_acquired(NULL), LAZY_BIND_NULL_ARGUMENT);
  /* A free lock: recorded, ended, nothing to report. */
  CHECK_OK(lazy_bind_external_wait_begin(held, NULL, 0, &wait, NULL));
  CHECK_OK(lazy_bind_external_wait_end(&wait));
  CHECK(wait == NULL);
  CHECK_OK(lazy_bind_external_wait_end(&wait));
  CHECK_OK(lazy_bind_external_wait_end(NULL));
  lazy_bind_runtime_lock_free(&held);
  lazy_bind_runtime_lock_free(&held);
  CHECK(test_refs(&value) == 1);
  printf("external_wait: ok\n");
  return 0;
}
