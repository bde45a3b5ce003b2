/* Nested C resolvers pass an inner failure up by its status alone: a
 * resolver that returns the status a nested lazy_bind_resolve gave it, with
 * no runtime error object, passes that very error up. The outer access then
 * fails with the same kind and chain (a cycle or deadlock is not turned into
 * LAZY_BIND_RESOLVER_FAILED "status 5"), and a resolver failure keeps its
 * innermost resolver status and runtime error. A resolver that hands back an
 * error object of its own, or another status, is its own failure. */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>

#include "check.h"

/* What one entry's resolver does. */
typedef struct spec {
  /* The entry it resolves first (NULL: none, it fails at once). */
  const lazy_bind_handle *needs;
  /* 0: on failure return the status it got; otherwise return this. */
  uint32_t own_status;
  /* Handed back (a new reference) as the runtime error on failure. */
  test_object *error_object;
  /* Waited on before resolving `needs` (NULL: none). */
  pthread_barrier_t *barrier;
} spec;

static test_object value = {"value", 1};

static uint32_t resolve(void *userdata, const lazy_bind_engine *engine, lazy_bind_handle handle,
                        void **value_out, void **runtime_error_out) {
  (void)handle;
  const spec *what = (const spec *)userdata;
  uint32_t status = what->own_status;
  if (what->needs != NULL) {
    if (what->barrier != NULL) {
      pthread_barrier_wait(what->barrier);
    }
    void *inner = NULL;
    status = lazy_bind_resolve(engine, *what->needs, "nested.c", 40, &inner, NULL);
    if (status == LAZY_BIND_OK) {
      *value_out = test_new_ref(&value);
      return LAZY_BIND_OK;
    }
    if (what->own_status != 0) {
      status = what->own_status;
    }
  }
  if (what->error_object != NULL) {
    *runtime_error_out = test_new_ref(what->error_object);
  }
  return status;
}

static void check_chain(const lazy_bind_error *error, const char *const *names, size_t len) {
  CHECK(lazy_bind_error_chain_len(error) == len);
  for (size_t i = 0; i < len; i++) {
    CHECK_STR(lazy_bind_error_chain_name(error, i), names[i]);
  }
}

/* a -> b -> c -> a on one thread; nobody wraps the cycle. */
static void cycle_keeps_its_kind(void) {
  lazy_bind_engine *engine = NULL;
  CHECK_OK(lazy_bind_engine_new(NULL, 0, &engine));
  lazy_bind_handle a, b, c;
  spec needs_a = {&a, 0, NULL, NULL}, needs_b = {&b, 0, NULL, NULL}, needs_c = {&c, 0, NULL, NULL};
  CHECK_OK(lazy_bind_entry_create(engine, "a", "a.py", 1, resolve, &needs_b, NULL, &a));
  CHECK_OK(lazy_bind_entry_create(engine, "b", "b.py", 2, resolve, &needs_c, NULL, &b));
  CHECK_OK(lazy_bind_entry_create(engine, "c", "c.py", 3, resolve, &needs_a, NULL, &c));

  void *out = NULL;
  lazy_bind_error *error = NULL;
  CHECK_STATUS(lazy_bind_resolve(engine, a, "main.py", 9, &out, &error), LAZY_BIND_CYCLE);
  CHECK(out == NULL);
  CHECK(lazy_bind_error_kind(error) == LAZY_BIND_CYCLE);
  const char *const chain[] = {"a", "b", "c", "a"};
  check_chain(error, chain, 4);
  /* The error names the entry whose access closed the cycle (the last
   * link), at the access that did. */
  CHECK_STR(lazy_bind_error_declaration_name(error), "a");
  CHECK_STR(lazy_bind_error_access_file(error), "nested.c");
  CHECK(lazy_bind_error_resolver_status(error) == LAZY_BIND_OK);
  CHECK(strstr(lazy_bind_error_message(error), "cycle") != NULL);
  lazy_bind_error_free(&error);

  /* Every entry is pending again, and the second access fails the same way. */
  lazy_bind_state state;
  CHECK_OK(lazy_bind_peek(engine, b, &state, NULL, NULL, NULL));
  CHECK(state == LAZY_BIND_STATE_PENDING);
  CHECK_STATUS(lazy_bind_resolve(engine, b, "main.py", 10, &out, &error), LAZY_BIND_CYCLE);
  const char *const from_b[] = {"b", "c", "a", "b"};
  check_chain(error, from_b, 4);
  lazy_bind_error_free(&error);
  lazy_bind_engine_free(&engine);
}

static lazy_bind_engine *shared;

static void *access_entry(void *arg) {
  lazy_bind_handle *handle = (lazy_bind_handle *)arg;
  void *out = NULL;
  lazy_bind_error *error = NULL;
  uint32_t status = lazy_bind_resolve(shared, *handle, "main.py", 20, &out, &error);
  CHECK(status == LAZY_BIND_DEADLOCK);
  CHECK(lazy_bind_error_kind(error) == LAZY_BIND_DEADLOCK);
  /* The detecting thread's resolution, then the waits back to it. */
  size_t len = lazy_bind_error_chain_len(error);
  CHECK(len >= 2);
  int saw_a = 0, saw_b = 0;
  for (size_t i = 0; i < len; i++) {
    saw_a |= strcmp(lazy_bind_error_chain_name(error, i), "a") == 0;
    saw_b |= strcmp(lazy_bind_error_chain_name(error, i), "b") == 0;
  }
  CHECK(saw_a && saw_b);
  /* The error names the chain's last link: the entry the detecting thread
   * resolves, which the other thread waits for. */
  CHECK_STR(lazy_bind_error_declaration_name(error), lazy_bind_error_chain_name(error, len - 1));
  lazy_bind_error_free(&error);
  return NULL;
}

/* Thread 1 resolves top1 -> a -> b, thread 2 resolves top2 -> b -> a: one
 * of them detects the deadlock; both outer accesses, two C resolvers up,
 * report it as a deadlock. */
static void deadlock_keeps_its_kind(void) {
  CHECK_OK(lazy_bind_engine_new(NULL, 0, &shared));
  pthread_barrier_t both_resolving;
  CHECK(pthread_barrier_init(&both_resolving, NULL, 2) == 0);
  lazy_bind_handle a, b, top1, top2;
  spec a_needs_b = {&b, 0, NULL, &both_resolving}, b_needs_a = {&a, 0, NULL, &both_resolving};
  spec needs_a = {&a, 0, NULL, NULL}, needs_b = {&b, 0, NULL, NULL};
  CHECK_OK(lazy_bind_entry_create(shared, "a", "a.py", 1, resolve, &a_needs_b, NULL, &a));
  CHECK_OK(lazy_bind_entry_create(shared, "b", "b.py", 2, resolve, &b_needs_a, NULL, &b));
  CHECK_OK(lazy_bind_entry_create(shared, "top1", "t.py", 3, resolve, &needs_a, NULL, &top1));
  CHECK_OK(lazy_bind_entry_create(shared, "top2", "t.py", 4, resolve, &needs_b, NULL, &top2));
  pthread_t t1, t2;
  CHECK(pthread_create(&t1, NULL, access_entry, &top1) == 0);
  CHECK(pthread_create(&t2, NULL, access_entry, &top2) == 0);
  CHECK(pthread_join(t1, NULL) == 0);
  CHECK(pthread_join(t2, NULL) == 0);
  pthread_barrier_destroy(&both_resolving);
  lazy_bind_engine_free(&shared);
}

/* inner fails with its own status and exception; middle passes that up by
 * status; outer sees the innermost status and exception. Then resolvers
 * that are failures of their own: one wraps the error in an object, one
 * returns another status. */
static void resolver_failures_keep_the_innermost_report(void) {
  test_runtime runtime = {0, 0, 0, 0};
  lazy_bind_runtime_hooks hooks = test_hooks(&runtime);
  lazy_bind_engine *engine = NULL;
  CHECK_OK(lazy_bind_engine_new(&hooks, 0, &engine));
  test_object exception = {"exception", 1}, wrapper = {"wrapper", 1};
  lazy_bind_handle inner, middle, outer, wraps, own;
  spec fails = {NULL, 77, &exception, NULL}, needs_inner = {&inner, 0, NULL, NULL};
  spec needs_middle = {&middle, 0, NULL, NULL};
  spec wraps_middle = {&middle, 0, &wrapper, NULL}, own_status = {&middle, 99, NULL, NULL};
  CHECK_OK(lazy_bind_entry_create(engine, "inner", "i.py", 1, resolve, &fails, NULL, &inner));
  CHECK_OK(lazy_bind_entry_create(engine, "middle", "m.py", 2, resolve, &needs_inner, NULL, &middle));
  CHECK_OK(lazy_bind_entry_create(engine, "outer", "o.py", 3, resolve, &needs_middle, NULL, &outer));
  CHECK_OK(lazy_bind_entry_create(engine, "wraps", "w.py", 4, resolve, &wraps_middle, NULL, &wraps));
  CHECK_OK(lazy_bind_entry_create(engine, "own", "s.py", 5, resolve, &own_status, NULL, &own));

  void *out = NULL;
  lazy_bind_error *error = NULL;
  CHECK_STATUS(lazy_bind_resolve(engine, outer, "main.py", 30, &out, &error),
               LAZY_BIND_RESOLVER_FAILED);
  CHECK(lazy_bind_error_resolver_status(error) == 77);
  CHECK(lazy_bind_error_runtime_value(error) == &exception);
  CHECK_STR(lazy_bind_error_declaration_name(error), "outer");
  lazy_bind_error_free(&error);

  CHECK_STATUS(lazy_bind_resolve(engine, wraps, "main.py", 31, &out, &error),
               LAZY_BIND_RESOLVER_FAILED);
  CHECK(lazy_bind_error_resolver_status(error) == LAZY_BIND_RESOLVER_FAILED);
  CHECK(lazy_bind_error_runtime_value(error) == &wrapper);
  lazy_bind_error_free(&error);

  CHECK_STATUS(lazy_bind_resolve(engine, own, "main.py", 32, &out, &error),
               LAZY_BIND_RESOLVER_FAILED);
  CHECK(lazy_bind_error_resolver_status(error) == 99);
  CHECK(lazy_bind_error_runtime_value(error) == NULL);
  lazy_bind_error_free(&error);

  lazy_bind_engine_free(&engine);
  CHECK(test_refs(&exception) == 1);
  CHECK(test_refs(&wrapper) == 1);
  /* inner ran once per access (failures are retried), so three exceptions
   * and one wrapper were handed over, and each was released once. */
  CHECK(runtime.retains == 0 && runtime.releases == 4);
}

int main(void) {
  cycle_keeps_its_kind();
  deadlock_keeps_its_kind();
  resolver_failures_keep_the_innermost_report();
  printf("nested: ok\n");
  return 0;
}
